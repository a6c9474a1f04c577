package io.vmmig.it.agent;

import io.vmmig.agent.Main;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.testkit.InterruptibleCommand;
import io.vmmig.testkit.net.JavaCommand;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Runs the real {@code vmmig} CLI as a process against an agent's control socket. */
final class Cli {
    /** What one {@code vmmig} command did: its exit code, stdout lines, stderr. */
    record Result(int exitCode, List<String> stdout, String stderr) {
        /** The stdout lines as control events ({@code --json}). */
        List<ControlEvent> events() {
            return stdout.stream().map(ControlCodec::decodeEvent).toList();
        }
    }

    private Cli() {
    }

    static Result run(Path socket, List<String> args) throws Exception {
        return run(socket, args, line -> { });
    }

    /** Runs {@code vmmig ARGS --socket SOCKET}, handing each stdout line to {@code eachLine} as it comes. */
    static Result run(Path socket, List<String> args, Consumer<String> eachLine) throws Exception {
        return run(socket, args, eachLine, p -> { });
    }

    /** Same, telling {@code started} the process (e.g. to send it a signal). */
    static Result run(Path socket, List<String> args, Consumer<String> eachLine, Consumer<Process> started) throws Exception {
        List<String> argv = new ArrayList<>(args);
        argv.addAll(List.of("--socket", socket.toString()));
        Path err = Files.createTempFile("vmmig-cli", ".err");
        try {
            Process p = new ProcessBuilder(InterruptibleCommand.of(JavaCommand.of(Main.class, argv))).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            started.accept(p);
            List<String> out = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    out.add(line);
                    eachLine.accept(line);
                }
            }
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("vmmig " + args + " did not end");
            }
            return new Result(p.exitValue(), out, Files.readString(err));
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
