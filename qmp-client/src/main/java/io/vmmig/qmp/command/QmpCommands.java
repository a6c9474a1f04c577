package io.vmmig.qmp.command;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.TypeFactory;
import io.vmmig.qmp.command.QmpResults.BlockDeviceInfo;
import io.vmmig.qmp.command.QmpResults.BlockExportInfo;
import io.vmmig.qmp.command.QmpResults.BlockInfo;
import io.vmmig.qmp.command.QmpResults.BlockJobInfo;
import io.vmmig.qmp.command.QmpResults.MigrationParameters;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import io.vmmig.qmp.command.QmpResults.StatusInfo;
import io.vmmig.qmp.command.QmpResults.VersionInfo;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The table of every QMP command vmmig sends, one record each. Record components are the QMP arguments
 * (dashed names via {@code @JsonProperty}); optional ones are nullable and omitted when null.
 */
public final class QmpCommands {
    private QmpCommands() {
    }

    private static JavaType listOf(TypeFactory t, Class<?> element) {
        return t.constructCollectionType(List.class, element);
    }

    // ---------------------------------------------------------------- queries

    /** query-status. */
    public record QueryStatus() implements QmpCommand<StatusInfo> {
        public String commandName() { return "query-status"; }
        public JavaType resultType(TypeFactory t) { return t.constructType(StatusInfo.class); }
        public Object arguments() { return null; }
    }

    /** query-version. */
    public record QueryVersion() implements QmpCommand<VersionInfo> {
        public String commandName() { return "query-version"; }
        public JavaType resultType(TypeFactory t) { return t.constructType(VersionInfo.class); }
        public Object arguments() { return null; }
    }

    /** query-block. */
    public record QueryBlock() implements QmpCommand<List<BlockInfo>> {
        public String commandName() { return "query-block"; }
        public JavaType resultType(TypeFactory t) { return listOf(t, BlockInfo.class); }
        public Object arguments() { return null; }
    }

    /** query-named-block-nodes; {@code flat} lists backing images flat (optional). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record QueryNamedBlockNodes(Boolean flat) implements QmpCommand<List<BlockDeviceInfo>> {
        public String commandName() { return "query-named-block-nodes"; }
        public JavaType resultType(TypeFactory t) { return listOf(t, BlockDeviceInfo.class); }
    }

    /** query-block-jobs. */
    public record QueryBlockJobs() implements QmpCommand<List<BlockJobInfo>> {
        public String commandName() { return "query-block-jobs"; }
        public JavaType resultType(TypeFactory t) { return listOf(t, BlockJobInfo.class); }
        public Object arguments() { return null; }
    }

    /** query-block-exports. */
    public record QueryBlockExports() implements QmpCommand<List<BlockExportInfo>> {
        public String commandName() { return "query-block-exports"; }
        public JavaType resultType(TypeFactory t) { return listOf(t, BlockExportInfo.class); }
        public Object arguments() { return null; }
    }

    /** query-migrate. */
    public record QueryMigrate() implements QmpCommand<MigrationInfo> {
        public String commandName() { return "query-migrate"; }
        public JavaType resultType(TypeFactory t) { return t.constructType(MigrationInfo.class); }
        public Object arguments() { return null; }
    }

    /** query-migrate-capabilities. */
    public record QueryMigrateCapabilities() implements QmpCommand<List<MigrationCapability>> {
        public String commandName() { return "query-migrate-capabilities"; }
        public JavaType resultType(TypeFactory t) { return listOf(t, MigrationCapability.class); }
        public Object arguments() { return null; }
    }

    /** query-migrate-parameters. */
    public record QueryMigrateParameters() implements QmpCommand<MigrationParameters> {
        public String commandName() { return "query-migrate-parameters"; }
        public JavaType resultType(TypeFactory t) { return t.constructType(MigrationParameters.class); }
        public Object arguments() { return null; }
    }

    // ---------------------------------------------------------------- block nodes

    /** blockdev-add; {@code options} is the whole BlockdevOptions flat union (driver, node-name, ...). */
    public record BlockdevAdd(ObjectNode options) implements QmpVoidCommand {
        public BlockdevAdd {
            Objects.requireNonNull(options, "options");
        }
        public String commandName() { return "blockdev-add"; }
        public Object arguments() { return options; }
    }

    /** blockdev-del. */
    public record BlockdevDel(@JsonProperty("node-name") String nodeName) implements QmpVoidCommand {
        public String commandName() { return "blockdev-del"; }
    }

    /** blockdev-reopen; each option node is a full BlockdevOptions of a node to reopen. */
    public record BlockdevReopen(List<ObjectNode> options) implements QmpVoidCommand {
        public String commandName() { return "blockdev-reopen"; }
    }

    /** blockdev-mirror. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record BlockdevMirror(@JsonProperty("job-id") String jobId, String device, String target,
                                 String replaces, String sync, Long speed, Long granularity,
                                 @JsonProperty("buf-size") Long bufSize,
                                 @JsonProperty("on-source-error") String onSourceError,
                                 @JsonProperty("on-target-error") String onTargetError,
                                 @JsonProperty("filter-node-name") String filterNodeName,
                                 @JsonProperty("copy-mode") String copyMode,
                                 @JsonProperty("auto-finalize") Boolean autoFinalize,
                                 @JsonProperty("auto-dismiss") Boolean autoDismiss) implements QmpVoidCommand {
        /** A mirror with only the required arguments and a job id. */
        public static BlockdevMirror of(String jobId, String device, String target, String sync) {
            return new BlockdevMirror(jobId, device, target, null, sync, null, null, null, null, null, null, null,
                    null, null);
        }
        public String commandName() { return "blockdev-mirror"; }
    }

    /** block-job-cancel. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record BlockJobCancel(String device, Boolean force) implements QmpVoidCommand {
        public String commandName() { return "block-job-cancel"; }
    }

    /** block-job-complete. */
    public record BlockJobComplete(String device) implements QmpVoidCommand {
        public String commandName() { return "block-job-complete"; }
    }

    /** job-dismiss. */
    public record JobDismiss(String id) implements QmpVoidCommand {
        public String commandName() { return "job-dismiss"; }
    }

    // ---------------------------------------------------------------- dirty bitmaps and transactions

    /** block-dirty-bitmap-add (also a transaction action's data). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record BlockDirtyBitmapAdd(String node, String name, Long granularity, Boolean persistent,
                                      Boolean disabled) implements QmpVoidCommand {
        public String commandName() { return "block-dirty-bitmap-add"; }
    }

    /** A bitmap named by node and name (data of the remove/enable/disable/clear commands and actions). */
    public record BlockDirtyBitmap(String node, String name) {
    }

    /** block-dirty-bitmap-remove. */
    public record BlockDirtyBitmapRemove(String node, String name) implements QmpVoidCommand {
        public String commandName() { return "block-dirty-bitmap-remove"; }
    }

    /** block-dirty-bitmap-enable. */
    public record BlockDirtyBitmapEnable(String node, String name) implements QmpVoidCommand {
        public String commandName() { return "block-dirty-bitmap-enable"; }
    }

    /** block-dirty-bitmap-disable. */
    public record BlockDirtyBitmapDisable(String node, String name) implements QmpVoidCommand {
        public String commandName() { return "block-dirty-bitmap-disable"; }
    }

    /** block-dirty-bitmap-clear. */
    public record BlockDirtyBitmapClear(String node, String name) implements QmpVoidCommand {
        public String commandName() { return "block-dirty-bitmap-clear"; }
    }

    /** block-dirty-bitmap-merge: merges {@code bitmaps} into {@code target} on {@code node}. */
    public record BlockDirtyBitmapMerge(String node, String target, List<BitmapSource> bitmaps)
            implements QmpVoidCommand {
        public String commandName() { return "block-dirty-bitmap-merge"; }
    }

    /**
     * A merge source: a bitmap name on the target's node ({@code node} null, sent as a string) or a bitmap of
     * another node (sent as {@code {"node":..,"name":..}}).
     */
    public record BitmapSource(String node, String name) {
        public static BitmapSource local(String name) {
            return new BitmapSource(null, name);
        }

        @JsonValue
        Object json() {
            return node == null ? name : Map.of("node", node, "name", name);
        }
    }

    /** transaction: all actions or none. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Transaction(List<TransactionAction> actions, TransactionProperties properties)
            implements QmpVoidCommand {
        public Transaction(List<TransactionAction> actions) {
            this(actions, null);
        }
        public String commandName() { return "transaction"; }
    }

    /** transaction properties; {@code completionMode} is {@code individual} or {@code grouped}. */
    public record TransactionProperties(@JsonProperty("completion-mode") String completionMode) {
    }

    /** One transaction action: {@code {"type":..,"data":..}}. Typed factories for the bitmap actions. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record TransactionAction(String type, Object data) {
        public static TransactionAction bitmapAdd(BlockDirtyBitmapAdd add) {
            return new TransactionAction("block-dirty-bitmap-add", add);
        }
        public static TransactionAction bitmapRemove(String node, String name) {
            return new TransactionAction("block-dirty-bitmap-remove", new BlockDirtyBitmap(node, name));
        }
        public static TransactionAction bitmapEnable(String node, String name) {
            return new TransactionAction("block-dirty-bitmap-enable", new BlockDirtyBitmap(node, name));
        }
        public static TransactionAction bitmapDisable(String node, String name) {
            return new TransactionAction("block-dirty-bitmap-disable", new BlockDirtyBitmap(node, name));
        }
        public static TransactionAction bitmapClear(String node, String name) {
            return new TransactionAction("block-dirty-bitmap-clear", new BlockDirtyBitmap(node, name));
        }
        public static TransactionAction bitmapMerge(BlockDirtyBitmapMerge merge) {
            return new TransactionAction("block-dirty-bitmap-merge", merge);
        }
        /** An action that makes the whole transaction fail (for tests of atomicity). */
        public static TransactionAction abort() {
            return new TransactionAction("abort", Map.of());
        }
    }

    // ---------------------------------------------------------------- NBD server and exports

    /** nbd-server-start. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record NbdServerStart(SocketAddressLegacy addr, @JsonProperty("tls-creds") String tlsCreds,
                                 @JsonProperty("tls-authz") String tlsAuthz,
                                 @JsonProperty("max-connections") Long maxConnections) implements QmpVoidCommand {
        /** An NBD server on a UNIX socket. */
        public static NbdServerStart unix(String path) {
            return new NbdServerStart(SocketAddressLegacy.unix(path), null, null, null);
        }
        public String commandName() { return "nbd-server-start"; }
    }

    /** QEMU's legacy socket address: {@code {"type":"unix","data":{"path":..}}} (note the data level). */
    public record SocketAddressLegacy(String type, Map<String, Object> data) {
        public static SocketAddressLegacy unix(String path) {
            return new SocketAddressLegacy("unix", Map.of("path", path));
        }
        public static SocketAddressLegacy inet(String host, int port) {
            return new SocketAddressLegacy("inet", Map.of("host", host, "port", Integer.toString(port)));
        }
    }

    /** nbd-server-stop. */
    public record NbdServerStop() implements QmpVoidCommand {
        public String commandName() { return "nbd-server-stop"; }
        public Object arguments() { return null; }
    }

    /** block-export-add of type nbd (the BlockExportOptions flat union with its nbd members). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record BlockExportAddNbd(String id, @JsonProperty("node-name") String nodeName, String name,
                                    Boolean writable, Boolean writethrough, String description,
                                    List<String> bitmaps,
                                    @JsonProperty("allocation-depth") Boolean allocationDepth,
                                    String iothread,
                                    @JsonProperty("fixed-iothread") Boolean fixedIothread)
            implements QmpVoidCommand {
        /** A read-only or writable export of a node under {@code name}. */
        public static BlockExportAddNbd of(String id, String nodeName, String name, boolean writable) {
            return new BlockExportAddNbd(id, nodeName, name, writable, null, null, null, null, null, null);
        }
        @JsonProperty("type")
        public String type() { return "nbd"; }
        public String commandName() { return "block-export-add"; }
    }

    /** block-export-del; {@code mode} is {@code safe} (default) or {@code hard}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record BlockExportDel(String id, String mode) implements QmpVoidCommand {
        public String commandName() { return "block-export-del"; }
    }

    // ---------------------------------------------------------------- migration

    /** migrate. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Migrate(String uri, Boolean detach, Boolean resume) implements QmpVoidCommand {
        public Migrate(String uri) {
            this(uri, null, null);
        }
        public String commandName() { return "migrate"; }
    }

    /** migrate-incoming (destination started with {@code -incoming defer}). */
    public record MigrateIncoming(String uri) implements QmpVoidCommand {
        public String commandName() { return "migrate-incoming"; }
    }

    /** migrate-set-capabilities. */
    public record MigrateSetCapabilities(List<MigrationCapability> capabilities) implements QmpVoidCommand {
        public String commandName() { return "migrate-set-capabilities"; }
    }

    /** migrate-set-parameters: only the non-null parameters are changed. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MigrateSetParameters(@JsonProperty("max-bandwidth") Long maxBandwidth,
                                       @JsonProperty("downtime-limit") Long downtimeLimit,
                                       @JsonProperty("max-postcopy-bandwidth") Long maxPostcopyBandwidth,
                                       @JsonProperty("multifd-channels") Integer multifdChannels,
                                       @JsonProperty("cpu-throttle-initial") Integer cpuThrottleInitial,
                                       @JsonProperty("cpu-throttle-increment") Integer cpuThrottleIncrement,
                                       @JsonProperty("max-cpu-throttle") Integer maxCpuThrottle,
                                       @JsonProperty("block-bitmap-mapping")
                                       List<BitmapMigrationNodeAlias> blockBitmapMapping,
                                       @JsonProperty("tls-creds") String tlsCreds,
                                       @JsonProperty("tls-hostname") String tlsHostname)
            implements QmpVoidCommand {
        /** Only max-bandwidth (bytes/s) and downtime-limit (ms); either may be null. */
        public static MigrateSetParameters bandwidthAndDowntime(Long maxBandwidth, Long downtimeLimit) {
            return new MigrateSetParameters(maxBandwidth, downtimeLimit, null, null, null, null, null, null, null, null);
        }
        /**
         * Only the TLS of the memory stream: the {@code tls-creds-x509} object's id and the name the
         * destination's certificate must carry (source; null at the destination). {@code ""} turns TLS off again.
         */
        public static MigrateSetParameters tls(String tlsCreds, String tlsHostname) {
            return new MigrateSetParameters(null, null, null, null, null, null, null, null, tlsCreds, tlsHostname);
        }
        public String commandName() { return "migrate-set-parameters"; }
    }

    /**
     * migrate-set-parameters with only the announce timing (qapi/migration.json, QEMU 4.0+): the
     * self-announcement an incoming QEMU makes as the guest starts after the switchover, the same rounds as
     * {@link AnnounceSelf}; {@code announce-rounds} 0 makes none.
     */
    public record MigrateSetAnnounceParameters(@JsonProperty("announce-initial") int initial,
                                               @JsonProperty("announce-max") int max,
                                               @JsonProperty("announce-rounds") int rounds,
                                               @JsonProperty("announce-step") int step) implements QmpVoidCommand {
        public String commandName() { return "migrate-set-parameters"; }
    }

    /** A node's bitmaps to migrate under an alias (migrate-set-parameters block-bitmap-mapping). */
    public record BitmapMigrationNodeAlias(@JsonProperty("node-name") String nodeName, String alias,
                                           List<BitmapMigrationBitmapAlias> bitmaps) {
    }

    /** A bitmap alias in a block-bitmap-mapping. */
    public record BitmapMigrationBitmapAlias(String name, String alias) {
    }

    /** migrate-continue, e.g. from state {@code pre-switchover}. */
    public record MigrateContinue(String state) implements QmpVoidCommand {
        public String commandName() { return "migrate-continue"; }
    }

    /**
     * announce-self (qapi/net.json, QEMU 4.0+): gratuitous ARP/RARP from every NIC, {@code rounds} times,
     * {@code initial} ms after the call, then each gap {@code step} ms longer up to {@code max} ms.
     */
    public record AnnounceSelf(int initial, int max, int rounds, int step) implements QmpVoidCommand {
        public String commandName() { return "announce-self"; }
    }

    /** migrate_cancel (underscore in QEMU's name). */
    public record MigrateCancel() implements QmpVoidCommand {
        public String commandName() { return "migrate_cancel"; }
        public Object arguments() { return null; }
    }

    // ---------------------------------------------------------------- QOM objects

    /**
     * object-add of a {@code tls-creds-x509}: QEMU loads {@code ca-cert.pem} and, for the server endpoint,
     * {@code server-cert.pem} + {@code server-key.pem} (client: {@code client-cert.pem} + {@code client-key.pem})
     * from {@code dir} when the object is created. {@code verifyPeer}: the peer must present a certificate
     * from that CA (and, for a client, one naming the host it was told).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ObjectAddTlsCredsX509(String id, String dir, String endpoint,
                                        @JsonProperty("verify-peer") Boolean verifyPeer) implements QmpVoidCommand {
        public ObjectAddTlsCredsX509 {
            if (!"server".equals(endpoint) && !"client".equals(endpoint))
                throw new IllegalArgumentException("tls-creds-x509 endpoint is server or client, got " + endpoint);
        }
        @JsonProperty("qom-type")
        public String qomType() { return "tls-creds-x509"; }
        public String commandName() { return "object-add"; }
    }

    /** object-del. */
    public record ObjectDel(String id) implements QmpVoidCommand {
        public String commandName() { return "object-del"; }
    }

    // ---------------------------------------------------------------- run state and misc

    /** stop: pause the guest. */
    public record Stop() implements QmpVoidCommand {
        public String commandName() { return "stop"; }
        public Object arguments() { return null; }
    }

    /** cont: resume the guest. */
    public record Cont() implements QmpVoidCommand {
        public String commandName() { return "cont"; }
        public Object arguments() { return null; }
    }

    /** quit: QEMU exits. */
    public record Quit() implements QmpVoidCommand {
        public String commandName() { return "quit"; }
        public Object arguments() { return null; }
    }

    /** human-monitor-command: run an HMP command; returns its text output. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record HumanMonitorCommand(@JsonProperty("command-line") String commandLine,
                                      @JsonProperty("cpu-index") Integer cpuIndex) implements QmpCommand<String> {
        public HumanMonitorCommand(String commandLine) {
            this(commandLine, null);
        }
        public String commandName() { return "human-monitor-command"; }
        public JavaType resultType(TypeFactory t) { return t.constructType(String.class); }
    }
}
