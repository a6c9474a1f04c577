package io.vmmig.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the test guest from Debian packages: {@code apt-get download} of the kernel that
 * {@code linux-image-amd64} depends on and of {@code busybox-static}, {@code dpkg -x}, the workload
 * and the probe's UDP echo ({@code udp-echo.c}) compiled with {@code gcc -O2 -static}, and an initramfs made with {@code cpio -H newc | gzip}.
 * The result lands in {@code <cache>/<kernel-package>-<hash of workload.c and init>} by atomic rename,
 * built under a file lock so parallel JVMs build it once.
 */
final class GuestBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(GuestBuilder.class);
    private static final String RESOURCES = "/io/vmmig/testkit/guest/";
    /** Load order matters: each module needs the ones before it. */
    static final List<String> MODULES = List.of("virtio_ring", "virtio", "virtio_pci_modern_dev",
            "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk");
    /** The virtio-net driver and what it needs, in load order; loaded by {@code /init} only for a guest with a NIC. */
    static final List<String> NET_MODULES = List.of("failover", "net_failover", "virtio_net");
    private static final Pattern KERNEL_DEP = Pattern.compile("Depends: (linux-image-[0-9][^\\s]*-amd64)");
    private static final Duration STEP_TIMEOUT = Duration.ofMinutes(5);
    /** Bump when the layout of the built guest changes. */
    private static final String FORMAT = "1";

    private final Path cache;

    GuestBuilder(Path cache) {
        this.cache = cache;
    }

    TestGuest getOrBuild() {
        String hash = sourceHash();
        try {
            Files.createDirectories(cache);
        } catch (IOException e) {
            throw new TestKitException("cannot create guest cache " + cache + ": " + e.getMessage(), e);
        }
        Optional<String> kernelPackage = currentKernelPackage();
        if (kernelPackage.isEmpty()) {
            // apt lists unavailable: fall back to any guest already built from the same sources
            try (Stream<Path> dirs = Files.list(cache)) {
                Optional<Path> any = dirs.filter(d -> d.getFileName().toString().endsWith("-" + hash)
                        && Files.isRegularFile(d.resolve("initrd.gz"))).findFirst();
                if (any.isPresent()) {
                    String name = any.get().getFileName().toString();
                    return new TestGuest(any.get(), name.substring(0, name.length() - hash.length() - 1));
                }
            } catch (IOException e) {
                throw new TestKitException("cannot list guest cache " + cache + ": " + e.getMessage(), e);
            }
            throw new TestKitException("apt-cache does not name a kernel for linux-image-amd64 and no guest is cached in "
                    + cache + "; run 'apt-get update' once");
        }
        Path target = cache.resolve(kernelPackage.get() + "-" + hash);
        if (Files.isRegularFile(target.resolve("initrd.gz"))) {
            return new TestGuest(target, kernelPackage.get());
        }
        try (FileChannel lockFile = FileChannel.open(cache.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = lockFile.lock();   // released when the channel closes
            LOG.debug("holding {}", lock);
            if (!Files.isRegularFile(target.resolve("initrd.gz"))) {   // someone else may have built it meanwhile
                build(kernelPackage.get(), target);
            }
            return new TestGuest(target, kernelPackage.get());
        } catch (IOException e) {
            throw new TestKitException("cannot lock or build the guest in " + cache + ": " + e.getMessage(), e);
        }
    }

    static Optional<String> currentKernelPackage() {
        try {
            String out = HostCommand.run(null, Duration.ofSeconds(60), List.of("apt-cache", "depends", "linux-image-amd64"));
            Matcher m = KERNEL_DEP.matcher(out);
            return m.find() ? Optional.of(m.group(1)) : Optional.empty();
        } catch (TestKitException e) {
            LOG.warn("apt-cache depends linux-image-amd64 failed: {}", e.getMessage());
            return Optional.empty();
        }
    }

    private void build(String kernelPackage, Path target) throws IOException {
        long t0 = System.nanoTime();
        Path work = Files.createTempDirectory(cache, ".build-");
        try {
            LOG.info("building test guest {} in {}", kernelPackage, target);
            Path debs = Files.createDirectories(work.resolve("debs"));
            HostCommand.run(debs, STEP_TIMEOUT, List.of("apt-get", "download", "-q", kernelPackage, "busybox-static"));
            Path extracted = Files.createDirectories(work.resolve("x"));
            try (Stream<Path> files = Files.list(debs)) {
                for (Path deb : files.filter(f -> f.toString().endsWith(".deb")).toList()) {
                    HostCommand.run(work, STEP_TIMEOUT, List.of("dpkg", "-x", deb.toString(), extracted.toString()));
                }
            }
            Path out = Files.createDirectories(work.resolve("out"));
            Files.copy(findOne(extracted.resolve("boot"), "vmlinuz-"), out.resolve("vmlinuz"));
            Path root = Files.createDirectories(work.resolve("root"));
            populateRoot(extracted, root);
            HostCommand.run(root, STEP_TIMEOUT, List.of("bash", "-o", "pipefail", "-c",
                    "find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 > " + quote(out.resolve("initrd.gz").toString())));
            Files.writeString(out.resolve("kernel-package"), kernelPackage + "\n");
            try {
                Files.move(out, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                throw new TestKitException("cannot move the built guest into place at " + target + ": " + e, e);
            }
            LOG.info("built test guest {} in {} ms", target, (System.nanoTime() - t0) / 1_000_000);
        } finally {
            HarnessDirectory.deleteRecursively(work);
        }
    }

    private void populateRoot(Path extracted, Path root) throws IOException {
        for (String d : List.of("bin", "sbin", "proc", "sys", "dev", "tmp", "lib/modules")) {
            Files.createDirectories(root.resolve(d));
        }
        Path busybox = extracted.resolve("bin/busybox");
        if (!Files.isRegularFile(busybox)) {
            throw new TestKitException("busybox-static did not contain bin/busybox");
        }
        Files.copy(busybox, root.resolve("bin/busybox"));
        String applets = HostCommand.run(null, Duration.ofSeconds(30), List.of(busybox.toString(), "--list"));
        for (String applet : applets.split("\\s+")) {
            if (!applet.isBlank() && !applet.equals("busybox")) {
                Files.createSymbolicLink(root.resolve("bin").resolve(applet), Path.of("busybox"));
            }
        }
        Map<String, Path> modules = findModules(extracted.resolve("lib/modules"));
        for (String m : Stream.concat(MODULES.stream(), NET_MODULES.stream()).toList()) {
            Path src = modules.get(m);
            if (src == null) {
                throw new TestKitException("kernel package has no module " + m + " (found " + modules.keySet().size() + " modules)");
            }
            Path dst = root.resolve("lib/modules/" + m + ".ko");
            String name = src.getFileName().toString();
            if (name.endsWith(".ko")) {
                Files.copy(src, dst);
            } else {
                String tool = name.endsWith(".xz") ? "xz" : "zstd";
                HostCommand.run(null, STEP_TIMEOUT, List.of("bash", "-c", tool + " -dc " + quote(src.toString()) + " > " + quote(dst.toString())));
            }
        }
        Path init = root.resolve("init");
        copyResource("init", init);
        init.toFile().setExecutable(true, false);
        Path source = root.resolve("workload.c");
        copyResource("workload.c", source);
        HostCommand.run(root, STEP_TIMEOUT, List.of("gcc", "-O2", "-static", "-pthread", "-Wall", "-o",
                root.resolve("bin/workload").toString(), source.toString()));
        Files.delete(source);
        Path echo = root.resolve("udp-echo.c");
        copyResource("udp-echo.c", echo);
        HostCommand.run(root, STEP_TIMEOUT, List.of("gcc", "-O2", "-static", "-Wall", "-o",
                root.resolve("bin/udp-echo").toString(), echo.toString()));
        Files.delete(echo);
    }

    private static Map<String, Path> findModules(Path modulesDir) throws IOException {
        Map<String, Path> found = new TreeMap<>();
        try (Stream<Path> files = Files.walk(modulesDir)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                String name = f.getFileName().toString();
                for (String suffix : List.of(".ko", ".ko.xz", ".ko.zst")) {
                    if (name.endsWith(suffix)) {
                        found.putIfAbsent(name.substring(0, name.length() - suffix.length()), f);
                    }
                }
            });
        }
        return found;
    }

    private static Path findOne(Path dir, String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> matches = new ArrayList<>(files.filter(f -> f.getFileName().toString().startsWith(prefix)).toList());
            if (matches.size() != 1) {
                throw new TestKitException("expected one " + prefix + "* in " + dir + ", found " + matches);
            }
            return matches.get(0);
        }
    }

    private static void copyResource(String name, Path to) throws IOException {
        try (InputStream in = GuestBuilder.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new TestKitException("missing resource " + RESOURCES + name);
            }
            Files.copy(in, to);
        }
    }

    /** Hash of everything that goes into the initramfs besides the Debian packages. */
    static String sourceHash() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(FORMAT.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            sha.update(String.join(",", MODULES).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            sha.update(String.join(",", NET_MODULES).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            for (String r : List.of("init", "workload.c", "udp-echo.c")) {
                try (InputStream in = GuestBuilder.class.getResourceAsStream(RESOURCES + r)) {
                    if (in == null) {
                        throw new TestKitException("missing resource " + RESOURCES + r);
                    }
                    sha.update(in.readAllBytes());
                }
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new TestKitException("cannot hash the guest sources: " + e.getMessage(), e);
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
