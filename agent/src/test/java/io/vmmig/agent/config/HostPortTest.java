package io.vmmig.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "host-b,            host-b,         7410, host-b:7410",
            "host-b:7500,       host-b,         7500, host-b:7500",
            "10.0.0.2:0,        10.0.0.2,       0,    10.0.0.2:0",
            "[::1]:7410,        ::1,            7410, [::1]:7410",
            "[::1],             ::1,            7410, [::1]:7410",
            "[::]:7500,         ::,             7500, [::]:7500",
            "[fe80::1%eth0]:1,  fe80::1%eth0,   1,    [fe80::1%eth0]:1",
            "::1,               ::1,            7410, [::1]:7410",
            "2001:db8::7,       2001:db8::7,    7410, [2001:db8::7]:7410",
            "' host-b:1 ',      host-b,         1,    host-b:1"})
    void parses(String text, String host, int port, String shown) {
        HostPort a = HostPort.parse(text, 7410);
        assertEquals(host, a.host());
        assertEquals(port, a.port());
        assertEquals(shown, a.toString());
    }

    @ParameterizedTest(name = "''{0}''")
    @ValueSource(strings = {"", "host:", "host:x", "host:65536", "host:-1", ":7410", "[::1", "[::1]7410", "[]:1", "[host]:1",
            "[::1]:", "a:b:c:d:zz"})
    void refusesNamingTheAddress(String text) {
        String m = assertThrows(IllegalArgumentException.class, () -> HostPort.parse(text, 7410)).getMessage();
        assertTrue(m.contains(text.isEmpty() ? "empty address" : "'" + text + "'") && m.contains("HOST[:PORT]"), m);
    }
}
