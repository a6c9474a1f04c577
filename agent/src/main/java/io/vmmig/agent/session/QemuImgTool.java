package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The few {@code qemu-img} and {@code qemu-system --version} calls the destination agent makes. */
final class QemuImgTool {
    private QemuImgTool() {
    }

    /** Creates {@code image} ({@code format}, {@code size} bytes), over {@code backing} when not null. */
    static void create(Path image, String format, long size, String backing) throws AgentException {
        create(image, format, size, backing, null);
    }

    /** Same, with {@code qemu-img create -o options} (vmmig's own, never a peer's), or none. */
    static void create(Path image, String format, long size, String backing, String options) throws AgentException {
        // the peer's values were checked (PeerValues): these never reach qemu-img as options
        if (size <= 0 || !image.isAbsolute() || backing != null && !backing.startsWith("/"))
            throw new AgentException(ErrorKind.BAD_REQUEST, "refusing qemu-img create of " + image + " (" + size + " bytes, backing " + backing + ")");
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", format));
        if (backing != null) {
            cmd.addAll(List.of("-b", backing, "-F", formatOf(backing)));
        }
        if (options != null) cmd.addAll(List.of("-o", options));
        cmd.add(image.toString());
        cmd.add(Long.toString(size));
        run(cmd, "create the target image " + image);
    }

    /** The format of an existing image, from {@code qemu-img info}. */
    static String formatOf(String image) throws AgentException {
        JsonNode info;
        try {
            info = ControlCodec.mapper().readTree(run(List.of("qemu-img", "info", "--output=json", "-U", image),
                    "read the backing image " + image));
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "unreadable qemu-img info of " + image + ": " + e.getMessage(), e);
        }
        return info.path("format").asText("raw");
    }

    /** Versions already read, by binary: its resolved path, size and modification time must still match. */
    private static final java.util.concurrent.ConcurrentHashMap<String, KnownVersion> VERSIONS = new java.util.concurrent.ConcurrentHashMap<>();

    private record KnownVersion(String stamp, int[] version) {}

    /**
     * {@code major.minor.micro} of a QEMU binary, from its {@code --version}; read once per binary file (a
     * prepare does not pay for a process start while the file is unchanged; an upgraded binary is read again).
     */
    static int[] version(String qemuBinary) throws AgentException {
        String stamp = stampOf(qemuBinary);
        KnownVersion known = VERSIONS.get(qemuBinary);
        if (stamp != null && known != null && known.stamp().equals(stamp)) return known.version().clone();
        int[] v = versionFromProcess(qemuBinary);
        if (stamp != null) VERSIONS.put(qemuBinary, new KnownVersion(stamp, v.clone()));
        return v;
    }

    /** The binary's resolved path, size and modification time (null if it cannot be found, e.g. not in PATH). */
    private static String stampOf(String binary) {
        List<Path> candidates = new ArrayList<>();
        if (binary.contains("/")) candidates.add(Path.of(binary));
        else for (String d : System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin").split(":"))
            candidates.add(Path.of(d.isEmpty() ? "." : d).resolve(binary));
        for (Path c : candidates) {
            try {
                if (!java.nio.file.Files.isExecutable(c)) continue;
                Path real = c.toRealPath();
                return real + ":" + java.nio.file.Files.size(real) + ":" + java.nio.file.Files.getLastModifiedTime(real).toMillis();
            } catch (IOException e) {
                // next
            }
        }
        return null;
    }

    private static int[] versionFromProcess(String qemuBinary) throws AgentException {
        String out = run(List.of(qemuBinary, "--version"), "run " + qemuBinary);
        Matcher m = Pattern.compile("version (\\d+)\\.(\\d+)(?:\\.(\\d+))?").matcher(out);
        if (!m.find()) throw new AgentException(ErrorKind.ENVIRONMENT, qemuBinary + " --version said '" + out.strip() + "': no version in it");
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3) == null ? 0 : Integer.parseInt(m.group(3))};
    }

    private static String run(List<String> cmd, String what) throws AgentException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AgentException(ErrorKind.ENVIRONMENT, "cannot " + what + ": " + cmd.get(0) + " did not finish in 60 s");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0)
                throw new AgentException(ErrorKind.ENVIRONMENT, "cannot " + what + ": " + String.join(" ", cmd) + " exited with "
                        + p.exitValue() + ": " + text.strip());
            return text;
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot " + what + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(ErrorKind.FAILED, "interrupted while trying to " + what, e);
        }
    }
}
