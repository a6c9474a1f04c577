package io.vmmig.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides once whether a Linux guest boots under KVM: on nested hosts {@code /dev/kvm} exists and BIOS-only
 * VMs run, yet Linux hangs in early boot. The probe boots the test guest under KVM and waits
 * {@link #PROBE_TIMEOUT} for its {@code VMMIG-INIT} line; otherwise TCG. The verdict is cached in
 * {@code <cache>/accel/} keyed by QEMU version and kernel package; env {@code VMMIG_ACCEL=kvm|tcg} overrides.
 */
public final class AcceleratorProbe {
    private static final Logger LOG = LoggerFactory.getLogger(AcceleratorProbe.class);
    /** How long the guest gets to reach its /init under KVM. */
    public static final Duration PROBE_TIMEOUT = Duration.ofSeconds(15);
    private static Verdict verdict;

    private AcceleratorProbe() {
    }

    /**
     * The accelerator and why it was chosen.
     *
     * @param accelerator the choice
     * @param source      {@code env}, {@code cache} or {@code probe}
     * @param reason      human-readable detail
     */
    public record Verdict(Accelerator accelerator, String source, String reason) {
        /** The line that is logged when the verdict is made. */
        public String describe() {
            return "accelerator " + accelerator + " (from " + source + ": " + reason + ")";
        }
    }

    /** The verdict for this JVM, made (and logged) on first call. */
    public static synchronized Verdict verdict() {
        if (verdict == null) {
            verdict = decide(System.getenv("VMMIG_ACCEL"), CacheDirectory.root().resolve("accel"));
            LOG.info("{}", verdict.describe());
        }
        return verdict;
    }

    static Verdict decide(String env, Path cacheDir) {
        if (env != null && !env.isBlank()) {
            String v = env.trim().toLowerCase(Locale.ROOT);
            if (!v.equals("kvm") && !v.equals("tcg")) {
                throw new TestKitException("VMMIG_ACCEL must be 'kvm' or 'tcg', was '" + env + "'");
            }
            return new Verdict(Accelerator.valueOf(v.toUpperCase(Locale.ROOT)), "env", "VMMIG_ACCEL=" + v);
        }
        if (!Files.exists(Path.of("/dev/kvm"))) {
            return new Verdict(Accelerator.TCG, "probe", "/dev/kvm does not exist");
        }
        TestGuest guest = TestGuest.get();
        String key = qemuVersion() + "-" + guest.kernelPackage();
        Path file = cacheDir.resolve(key.replaceAll("[^A-Za-z0-9_.-]", "_") + ".verdict");
        Optional<Accelerator> cached = readCached(file);
        if (cached.isPresent()) {
            return new Verdict(cached.get(), "cache", file.toString());
        }
        Verdict fresh = probe(guest);
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, ".verdict", ".tmp");
            Files.writeString(tmp, fresh.accelerator().name() + "\n" + fresh.reason() + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("cannot cache the accelerator verdict in {}: {}", file, e.toString());
        }
        return fresh;
    }

    /** Boots the test guest (no disk) under KVM and waits for its /init to speak. */
    static Verdict probe(TestGuest guest) {
        long t0 = System.nanoTime();
        try (QemuProcess q = QemuProcess.builder().name("kvm-probe").accelerator(Accelerator.KVM)
                .guest(guest, Workload.defaults()).start()) {
            q.console().awaitLine(Pattern.compile("^VMMIG-INIT"), PROBE_TIMEOUT);
            return new Verdict(Accelerator.KVM, "probe", "Linux reached /init under KVM in "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms");
        } catch (TestKitException e) {
            String why = e.getMessage().lines().findFirst().orElse("").replaceFirst("; last lines:$", "");
            return new Verdict(Accelerator.TCG, "probe", "Linux did not reach /init under KVM: " + why);
        }
    }

    private static Optional<Accelerator> readCached(Path file) {
        try {
            String first = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").trim();
            return Optional.of(Accelerator.valueOf(first));
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** E.g. {@code 7.2.22} from {@code qemu-system-x86_64 --version}. */
    static String qemuVersion() {
        String out = HostCommand.run(null, Duration.ofSeconds(30), List.of(QemuProcess.DEFAULT_BINARY, "--version"));
        Matcher m = Pattern.compile("version (\\S+)").matcher(out);
        if (!m.find()) {
            throw new TestKitException("cannot read the QEMU version from: " + out.strip());
        }
        return m.group(1);
    }
}
