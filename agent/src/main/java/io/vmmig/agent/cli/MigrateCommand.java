package io.vmmig.agent.cli;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.config.HostPort;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.strategy.qemu.MemorySettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmmig migrate VM DEST}: asks the local agent to migrate a VM to the destination agent and follows
 * it to its end (see {@link MigrateSession}).
 */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = {"Live-migrate a VM and its local disk to another host's agent, showing progress.",
                "Ctrl-C before the switchover cancels (the guest keeps running here); after it, detaches "
                        + "(the agent finishes the migration)."})
public final class MigrateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "VM", description = "QMP socket path (relative to this directory), or the name of a VM the agent knows")
    String vm;

    @Parameters(index = "1", paramLabel = "DEST", description = "destination agent, HOST[:PORT] or [IPV6][:PORT] (default port 7410)")
    String dest;

    @Option(names = "--strategy", paramLabel = "NAME", defaultValue = "hybrid", converter = StrategyConverter.class,
            description = "hybrid, precopy, mirror, mirror-wb or postcopy (default ${DEFAULT-VALUE})")
    String strategy;

    @Option(names = "--bandwidth", paramLabel = "RATE", converter = BandwidthConverter.class,
            description = "link budget in bytes/s that the disk and the memory stream share: 100M, 12.5MiB/s, 1G; bits with 'bit': 100Mbit (default unlimited)")
    Long bandwidth;

    @Option(names = "--memory-bandwidth", paramLabel = "RATE", converter = MemoryBandwidthConverter.class,
            description = "QEMU's memory migration rate cap (max-bandwidth), as --bandwidth or 'unlimited'"
                    + " (default: --bandwidth, else the agent's memory.max-bandwidth, else unlimited; QEMU alone caps it at 128 MiB/s)")
    Long memoryBandwidth;

    @Option(names = "--downtime-limit", paramLabel = "MS",
            description = "the most the switchover may take, QEMU's downtime-limit in milliseconds, 1 to 2000000"
                    + " (default: the agent's memory.downtime-limit, else 300); vmmig aims at 50 ms first and doubles"
                    + " the target after every 3 dirty-bitmap syncs without a switchover, up to this")
    Long downtimeLimit;

    @Option(names = "--auto-converge", negatable = true,
            description = "let QEMU throttle the guest's vCPUs when its RAM is dirtied faster than the link carries it"
                    + " (auto-converge; default: the agent's memory.auto-converge, else off)")
    Boolean autoConverge;

    @Option(names = "--threshold", paramLabel = "N",
            description = "hybrid: writes to a chunk after which it is no longer pushed (default: the agent's)")
    Integer threshold;

    @Option(names = "--chunk-size", paramLabel = "SIZE", converter = ChunkSizeConverter.class,
            description = "transfer chunk, a power of two from 64K to 16M, e.g. 256K, 1M (default: the agent's)")
    Integer chunkSize;

    @Option(names = "--target", paramLabel = "PATH",
            description = "image path at the destination (default: its image directory and the source file's name)")
    String target;

    @Option(names = "--disks", paramLabel = "DISK[,DISK...]", split = ",",
            description = "the disks to move, by device id (vda), drive id (virtio0) or node name (default: every local disk)")
    java.util.List<String> disks;

    @Mixin
    AgentOptions options = new AgentOptions();

    @Spec
    CommandSpec spec;

    private final CliContext context;

    public MigrateCommand() {
        this(CliContext.system());
    }

    MigrateCommand(CliContext context) {
        this.context = context;
    }

    @Override
    public Integer call() {
        if (threshold != null && threshold < 1) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--threshold': '" + threshold + "' is not a write count of 1 or more");
        }
        if (downtimeLimit != null && (downtimeLimit < 1 || downtimeLimit > MemorySettings.MAX_DOWNTIME_LIMIT_MILLIS)) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--downtime-limit': '" + downtimeLimit
                    + "' is not a number of milliseconds from 1 to " + MemorySettings.MAX_DOWNTIME_LIMIT_MILLIS);
        }
        try {
            HostPort.parse(dest, AgentConfig.DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for DEST: " + e.getMessage());
        }
        // a socket path is the caller's: relative to the directory vmmig runs in, not the agent's
        String vmArg = vm.contains("/") ? Path.of(vm).toAbsolutePath().normalize().toString() : vm;
        ControlRequest request = ControlRequest.migrate(vmArg, dest.strip(), strategy, bandwidth, threshold, chunkSize, target, disks)
                .withMemory(new ControlRequest.Memory(memoryBandwidth, downtimeLimit, autoConverge));
        EventSink sink = options.json() ? new JsonLines(context.stdout())
                : new ProgressDisplay(context.out(), context.tty(), System::nanoTime);
        return new MigrateSession(options.socket(context), request, sink, context, MigrateSession.CANCEL_WAIT).run();
    }
}
