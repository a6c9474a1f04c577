package io.vmmig.testkit.net;

import io.vmmig.testkit.CacheDirectory;
import io.vmmig.testkit.HostCommand;
import io.vmmig.testkit.TestKitException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * The packet delay line's executable: {@code delayline.c} (a resource beside this class) compiled with
 * {@code gcc -O2} into {@code <cache>/delayline/<hash of the source>/delayline}, once, under a file lock
 * (parallel JVMs build it once) and by atomic rename (a half-written binary is never found).
 */
final class DelayLineProgram {
    private static final String SOURCE = "delayline.c";
    private static Path built;

    private DelayLineProgram() {
    }

    /** The compiled program, building it first if needed. */
    static synchronized Path get() {
        if (built == null) {
            built = getOrBuild(CacheDirectory.root().resolve("delayline"));
        }
        return built;
    }

    private static Path getOrBuild(Path cache) {
        byte[] source = source();
        Path target = cache.resolve(hash(source)).resolve("delayline");
        if (Files.isExecutable(target)) {
            return target;
        }
        try {
            Files.createDirectories(target.getParent());
            try (FileChannel lock = FileChannel.open(cache.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE)) {
                lock.lock();
                if (!Files.isExecutable(target)) {
                    Path dir = target.getParent();
                    Path c = dir.resolve(SOURCE);
                    Files.write(c, source);
                    Path tmp = dir.resolve(".delayline-" + ProcessHandle.current().pid());
                    HostCommand.run(dir, Duration.ofMinutes(2), List.of("gcc", "-O2", "-Wall", "-o", tmp.toString(),
                            c.toString()));
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            return target;
        } catch (IOException e) {
            throw new TestKitException("cannot build the delay line in " + cache + ": " + e.getMessage(), e);
        }
    }

    private static byte[] source() {
        try (InputStream in = DelayLineProgram.class.getResourceAsStream(SOURCE)) {
            if (in == null) {
                throw new TestKitException("missing resource " + SOURCE + " beside " + DelayLineProgram.class);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new TestKitException("cannot read " + SOURCE + ": " + e.getMessage(), e);
        }
    }

    private static String hash(byte[] source) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
