package io.vmmig.testkit.net;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * Runs a {@link DelayProxy} as a process (e.g. inside a lab namespace):
 * {@code DelayProxyMain --listen SPEC --target SPEC [--delay-ms N] [--buffer-bytes N]}. Prints
 * {@code LISTENING <spec>} on stdout once accepting, then runs until its stdin ends (so it dies with the
 * JVM that started it) or it is killed.
 */
public final class DelayProxyMain {
    private DelayProxyMain() {
    }

    public static void main(String[] args) throws IOException {
        Endpoint listen = null;
        Endpoint target = null;
        long delayMs = 0;
        long buffer = DelayProxy.DEFAULT_BUFFER_BYTES;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--listen" -> listen = Endpoint.parse(args[i + 1]);
                case "--target" -> target = Endpoint.parse(args[i + 1]);
                case "--delay-ms" -> delayMs = Long.parseLong(args[i + 1]);
                case "--buffer-bytes" -> buffer = Long.parseLong(args[i + 1]);
                default -> usage("unknown option " + args[i]);
            }
        }
        if (args.length % 2 != 0 || listen == null || target == null) {
            usage("--listen and --target are required");
        }
        try (DelayProxy proxy = DelayProxy.start(listen, target, Duration.ofMillis(delayMs), buffer)) {
            System.out.println("LISTENING " + proxy.listenEndpoint().spec());
            System.out.flush();
            InputStream in = System.in;
            byte[] sink = new byte[256];
            while (in.read(sink) >= 0) {
                // wait for the parent to go away
            }
        }
    }

    private static void usage(String problem) {
        System.err.println("DelayProxyMain: " + problem
                + "; usage: --listen tcp:HOST:PORT|unix:PATH --target tcp:HOST:PORT|unix:PATH [--delay-ms N]"
                + " [--buffer-bytes N]");
        System.exit(2);
    }
}
