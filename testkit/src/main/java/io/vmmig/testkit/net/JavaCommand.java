package io.vmmig.testkit.net;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM running a main class on this JVM's class path (small heap, serial GC,
 * C1 only: starts in a few hundred ms). Prepend {@link NetworkLab#prefix(LabHost)} to run it in a namespace.
 */
public final class JavaCommand {
    private JavaCommand() {
    }

    /** {@code java -cp <this class path> ... main args...}. */
    public static List<String> of(Class<?> main, List<String> args) {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-Dorg.slf4j.simpleLogger.logFile=System.err",
                "-cp", System.getProperty("java.class.path"), main.getName()));
        argv.addAll(args);
        return argv;
    }
}
