package io.vmmig.testkit;

import java.nio.file.Path;

/** Where the harness keeps things between runs: {@code $VMMIG_CACHE}, else {@code ~/.cache/vmmig}. */
public final class CacheDirectory {
    private CacheDirectory() {
    }

    /** The cache root (not created). */
    public static Path root() {
        String env = System.getenv("VMMIG_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env).toAbsolutePath();
        }
        return Path.of(System.getProperty("user.home"), ".cache", "vmmig");
    }
}
