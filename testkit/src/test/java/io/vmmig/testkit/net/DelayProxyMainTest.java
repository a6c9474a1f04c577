package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DelayProxyMain} as a child JVM (no namespace): announces itself, forwards, dies with its stdin. */
class DelayProxyMainTest {

    @Test
    void forwardsThenExitsWhenStdinEnds(@TempDir Path tmp) throws Exception {
        try (TrafficServer echo = TrafficServer.start(Endpoint.unix(tmp.resolve("echo.sock")))) {
            Process p = new ProcessBuilder(JavaCommand.of(DelayProxyMain.class, List.of("--listen",
                    "unix:" + tmp.resolve("p.sock"), "--target", echo.endpoint().spec(), "--delay-ms", "10")))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
                        .readLine();
                assertEquals("LISTENING unix:" + tmp.resolve("p.sock"), line);
                Duration median = TrafficClient.median(TrafficClient.pingPong(Endpoint.parse(line.substring(10)), 5));
                assertTrue(median.toMillis() >= 19 && median.toMillis() < 2000, "RTT with 10 ms each way: " + median);
                p.getOutputStream().close();  // what happens when the parent JVM dies
                assertTrue(p.waitFor(10, TimeUnit.SECONDS), "proxy process still running after stdin ended");
                assertEquals(0, p.exitValue());
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void badArgumentsExitWithUsage() throws Exception {
        Process p = new ProcessBuilder(JavaCommand.of(DelayProxyMain.class, List.of("--listen", "tcp:127.0.0.1:0")))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("--listen and --target are required"), out);
    }
}
