package io.vmmig.agent.daemon;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.config.AgentConfigFile;
import io.vmmig.agent.config.ConfigException;
import io.vmmig.agent.config.LogLevel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmmig agent}: runs this host's agent in the foreground until SIGTERM or SIGINT. */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = "Run the vmmig agent of this host (foreground; systemd runs it as a service).")
public final class AgentCommand implements Callable<Integer> {
    /**
     * The agent's configuration or command line cannot work (EX_CONFIG of sysexits.h): each problem was
     * printed on a line of its own. The systemd unit lists it in {@code RestartPreventExitStatus=}.
     */
    public static final int EXIT_CONFIG = 78;

    @Option(names = "--config", description = "configuration file (default ${DEFAULT-VALUE})", defaultValue = "/etc/vmmig/vmmig.conf")
    Path config;

    @Option(names = "--log-level", paramLabel = "LEVEL", converter = LogLevelConverter.class,
            description = "error, warn, info, debug or trace (default: the configuration's log-level, else info)")
    LogLevel logLevel;

    @Option(names = "--insecure", description = "plain TCP between agents, no certificates (labs and tests only: anyone on the"
            + " network can read and alter migrated disks)")
    boolean insecure;

    @Override
    public Integer call() throws Exception {
        AgentConfig c;
        try {
            c = AgentConfigFile.read(config.toAbsolutePath(), insecure);
        } catch (ConfigException e) {
            System.err.println("vmmig agent: " + e.getMessage());
            return EXIT_CONFIG;
        }
        if (logLevel != null) c = c.withLogLevel(logLevel);
        AgentLog.configure(c.logLevel(), System::getenv);   // before the first logger is made
        StartupChecks checks = new StartupChecks(System::getenv);
        List<String> problems = checks.problems(c);
        if (!problems.isEmpty()) {
            for (String p : problems) System.err.println("vmmig agent: " + p);
            return EXIT_CONFIG;
        }
        for (String w : checks.warnings(c)) System.err.println("vmmig agent: warning: " + w);
        if (insecure) {
            System.err.println("vmmig agent: *** INSECURE *** --insecure: peers talk plain TCP without certificates; anyone on the"
                    + " network can read and alter migrated disks. Use only in a lab.");
        }
        Agent agent;
        try {
            agent = Agent.start(c);
        } catch (AgentMisconfigured e) {
            System.err.println("vmmig agent: " + e.getMessage());
            return EXIT_CONFIG;
        } catch (AgentException e) {
            System.err.println("vmmig agent: " + e.getMessage());
            return e.kind().exitCode;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            stop.countDown();
        }, "vmmig-agent-shutdown"));
        System.err.println("vmmig agent: ready (peers on port " + agent.peerPort() + ", control socket " + c.controlSocket()
                + (agent.metricsPort() > 0 ? ", metrics on port " + agent.metricsPort() : "") + ")");
        stop.await();
        return 0;
    }

    /** {@code --log-level}'s values. */
    static final class LogLevelConverter implements picocli.CommandLine.ITypeConverter<LogLevel> {
        @Override
        public LogLevel convert(String value) {
            try {
                return LogLevel.parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
