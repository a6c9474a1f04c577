package io.vmmig.agent.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.vm.DescriptionValidator;
import io.vmmig.agent.vm.DestinationCommandLine;
import io.vmmig.agent.vm.RefusedDescriptionException;
import io.vmmig.agent.vm.VmDescription;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The VM description validator on arbitrary JSON: {@link VmDescription#read} and
 * {@link DescriptionValidator#check} accept or throw {@link RefusedDescriptionException}, nothing else;
 * what they accept builds a destination command line with no option that runs a program, opens a host
 * path outside the policy or passes fds. Input: a JSON description (the PREPARE's disk node is
 * {@code disk0}, format {@code qcow2}). Seeds in {@code DescriptionFuzzTestInputs/description/}.
 */
class DescriptionFuzzTest {
    private static final QemuPolicy POLICY = QemuPolicy.defaults();
    private static final List<String> FORBIDDEN = List.of("script=", "downscript=", "-add-fd", "-plugin", "mem-path", "fd=",
            "-monitor", "-qmp", "-chardev file", "exec:", "-drive", "-readconfig", "-loadvm");

    @FuzzTest(maxDuration = "45s")
    void description(byte[] input) {
        JsonNode json;
        try {
            json = ControlCodec.mapper().readTree(new String(input, StandardCharsets.UTF_8));
        } catch (JsonProcessingException notJson) {
            return;
        }
        try {
            DestinationCommandLine.Placed placed = DestinationCommandLine.placeMonitors(VmDescription.read(json), POLICY);
            new DescriptionValidator(POLICY).check(placed.description(), "disk0", "qcow2");
            List<String> args = DestinationCommandLine.build(placed.description(), POLICY, List.of());
            String line = String.join(" ", args);
            for (String f : FORBIDDEN) assertFalse(line.contains(f), "accepted description builds '" + f + "': " + line);
        } catch (RefusedDescriptionException refused) {
            // the destination answers REFUSED naming the option
        }
    }
}
