package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlSocketPathTest {
    @Test
    void optionThenEnvironmentThenDefault() {
        Map<String, String> env = Map.of("VMMIG_SOCKET", "/tmp/env.sock");
        assertEquals(Path.of("/tmp/opt.sock"), ControlSocketPath.resolve(Path.of("/tmp/opt.sock"), env::get));
        assertEquals(Path.of("/tmp/env.sock"), ControlSocketPath.resolve(null, env::get));
        assertEquals(Path.of("/run/vmmig/control.sock"), ControlSocketPath.resolve(null, Map.<String, String>of()::get));
        assertEquals(Path.of("/run/vmmig/control.sock"), ControlSocketPath.resolve(null, Map.of("VMMIG_SOCKET", " ")::get));
    }
}
