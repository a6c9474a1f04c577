package io.vmmig.agent.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vmmig.agent.config.AgentConfigFile;
import io.vmmig.agent.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The agent's configuration file parser on arbitrary text: a configuration or a {@link ConfigException}
 * naming the line, nothing else. Seeds in {@code AgentConfigFuzzTestInputs/configFile/}.
 */
class AgentConfigFuzzTest {
    @FuzzTest(maxDuration = "45s")
    void configFile(byte[] input) {
        List<String> lines = new String(input, StandardCharsets.UTF_8).lines().toList();
        try {
            AgentConfigFile.parse("fuzz.conf", lines);
        } catch (ConfigException refused) {
            // the agent exits with this message
        }
    }
}
