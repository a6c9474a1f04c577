package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class CliStartTimesTest {
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void acceptedIsTheLineArrivalAndPreparingTheAgentsElapsedTimeOfTheNextPhase() throws Exception {
        CliStartTimes t = new CliStartTimes();
        t.observe(json.readTree("{\"event\":\"accepted\",\"id\":\"m-1\",\"vm\":\"web1\",\"dest\":\"b:7410\",\"strategy\":\"hybrid\"}"), 412_000_000L);
        t.observe(json.readTree("{\"event\":\"phase\",\"id\":\"m-1\",\"phase\":\"PREPARING\",\"elapsedMillis\":1}"), 420_000_000L);
        t.observe(json.readTree("{\"event\":\"progress\",\"id\":\"m-1\",\"phase\":\"PUSHING\"}"), 900_000_000L);
        t.observe(json.readTree("{\"event\":\"phase\",\"id\":\"m-1\",\"phase\":\"PUSHING\",\"elapsedMillis\":640}"), 1_100_000_000L);
        t.observe(json.readTree("{\"event\":\"phase\",\"id\":\"m-1\",\"phase\":\"CUTOVER\",\"elapsedMillis\":9000}"), 9_500_000_000L);
        assertEquals(412, t.acceptedMillis());
        assertEquals(640, t.preparingMillis());
    }

    @Test
    void nothingSeenIsMinusOne() throws Exception {
        CliStartTimes t = new CliStartTimes();
        t.observe(json.readTree("{\"event\":\"error\",\"kind\":\"BAD_REQUEST\",\"message\":\"no such VM\"}"), 300_000_000L);
        assertEquals(-1, t.acceptedMillis());
        assertEquals(-1, t.preparingMillis());
    }
}
