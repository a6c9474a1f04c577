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
import java.util.Set;

/**
 * The VM description validator on arbitrary JSON: {@link VmDescription#read} and
 * {@link DescriptionValidator#check} accept or throw {@link RefusedDescriptionException}, nothing else;
 * what they accept builds a destination command line with no option that runs a program, opens a host
 * path outside the policy or passes fds. Input: a JSON description (the PREPARE's disk node is
 * {@code disk0}, format {@code qcow2}). Seeds in {@code DescriptionFuzzTestInputs/description/}.
 */
class DescriptionFuzzTest {
    private static final QemuPolicy POLICY = QemuPolicy.defaults();
    /** Options the destination never builds from a peer's description. */
    private static final Set<String> FORBIDDEN_OPTIONS = Set.of("-add-fd", "-plugin", "-drive", "-readconfig", "-loadvm", "-incoming",
            "-runas", "-chroot", "-daemonize", "-pidfile", "-D", "-trace", "-L", "-bios", "-hda", "-cdrom", "-fsdev", "-virtfs");
    /** Properties that run a program, open a host path or pass fds, in any option's value. */
    private static final Set<String> FORBIDDEN_PROPS = Set.of("script", "downscript", "helper", "mem-path", "fd", "fds", "vhostfd",
            "vhostfds", "sock_fd", "logfile", "filename", "file");

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
            check(args);
        } catch (RefusedDescriptionException refused) {
            // the destination answers REFUSED naming the option
        }
    }

    /**
     * Reads the command line as QEMU does: {@code -option value}, the value's properties split at single
     * commas ({@code ,,} is an escaped comma), and fails on a forbidden option, property or chardev backend.
     */
    static void check(List<String> args) {
        String line = String.join(" ", args);
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("-")) continue;
            assertFalse(FORBIDDEN_OPTIONS.contains(a), "accepted description builds " + a + ": " + line);
            if (i + 1 >= args.size() || args.get(i + 1).startsWith("-")) continue;
            String[] props = args.get(i + 1).replace(",,", "\u0000").split(",");
            for (int k = 0; k < props.length; k++) {
                String key = props[k].contains("=") ? props[k].substring(0, props[k].indexOf('=')) : props[k];
                assertFalse(FORBIDDEN_PROPS.contains(key) && !(a.equals("-object") && key.equals("filename") && props[k].equals("filename=/dev/urandom")),
                        "accepted description builds " + a + " ..." + props[k] + ": " + line);
                if (k == 0 && a.equals("-chardev"))
                    assertFalse(key.equals("file") || key.equals("pipe") || key.equals("pty") || key.equals("serial") || key.equals("parallel"),
                            "accepted description builds a " + key + " chardev: " + line);
            }
        }
    }
}
