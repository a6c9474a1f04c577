package io.vmmig.qmp.command;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Reply records of the query commands vmmig uses: only the fields vmmig needs; unknown ones are ignored. */
public final class QmpResults {
    private QmpResults() {
    }

    /** query-status. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record StatusInfo(String status, boolean running) {
    }

    /** query-version. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record VersionInfo(QemuVersion qemu, @JsonProperty("package") String packageName) {
    }

    /** QEMU version triple. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record QemuVersion(int major, int minor, int micro) {
    }

    /** One entry of query-block. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record BlockInfo(String device, String qdev, String type, boolean removable, boolean locked,
                            BlockDeviceInfo inserted, @JsonProperty("io-status") String ioStatus) {
    }

    /** A block node (query-named-block-nodes, query-block's {@code inserted}). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record BlockDeviceInfo(String file, @JsonProperty("node-name") String nodeName, boolean ro, String drv,
                                  @JsonProperty("backing_file") String backingFile,
                                  @JsonProperty("backing_file_depth") int backingFileDepth,
                                  @JsonProperty("detect_zeroes") String detectZeroes,
                                  ImageInfo image,
                                  @JsonProperty("dirty-bitmaps") List<DirtyBitmapInfo> dirtyBitmaps) {
        public BlockDeviceInfo {
            dirtyBitmaps = dirtyBitmaps == null ? List.of() : List.copyOf(dirtyBitmaps);
        }
    }

    /** Image information of a block node. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ImageInfo(String filename, String format, @JsonProperty("virtual-size") long virtualSize,
                            @JsonProperty("actual-size") Long actualSize,
                            @JsonProperty("cluster-size") Long clusterSize,
                            @JsonProperty("backing-filename") String backingFilename) {
    }

    /** A dirty bitmap of a block node. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record DirtyBitmapInfo(String name, long count, long granularity, boolean recording, boolean busy,
                                  boolean persistent, Boolean inconsistent) {
    }

    /** One entry of query-block-jobs. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record BlockJobInfo(String type, String device, long len, long offset, boolean busy, boolean paused,
                               long speed, boolean ready, String status,
                               @JsonProperty("io-status") String ioStatus,
                               @JsonProperty("auto-finalize") boolean autoFinalize,
                               @JsonProperty("auto-dismiss") boolean autoDismiss, String error) {
    }

    /** One entry of query-block-exports. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record BlockExportInfo(String id, String type, @JsonProperty("node-name") String nodeName,
                                  @JsonProperty("shutting-down") boolean shuttingDown) {
    }

    /** query-migrate. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record MigrationInfo(String status, MigrationStats ram,
                                @JsonProperty("total-time") Long totalTime,
                                @JsonProperty("expected-downtime") Long expectedDowntime,
                                Long downtime,
                                @JsonProperty("setup-time") Long setupTime,
                                @JsonProperty("error-desc") String errorDesc,
                                @JsonProperty("blocked-reasons") List<String> blockedReasons) {
    }

    /** RAM statistics of a migration. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record MigrationStats(long transferred, long remaining, long total, long duplicate, long normal,
                                 @JsonProperty("normal-bytes") long normalBytes,
                                 @JsonProperty("dirty-pages-rate") long dirtyPagesRate,
                                 double mbps,
                                 @JsonProperty("dirty-sync-count") long dirtySyncCount,
                                 @JsonProperty("page-size") long pageSize,
                                 @JsonProperty("precopy-bytes") long precopyBytes,
                                 @JsonProperty("downtime-bytes") long downtimeBytes,
                                 @JsonProperty("postcopy-bytes") long postcopyBytes) {
    }

    /** query-migrate-parameters: the memory migration's rate, downtime and throttling settings vmmig sets and reports. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record MigrationParameters(@JsonProperty("max-bandwidth") Long maxBandwidth,
                                      @JsonProperty("downtime-limit") Long downtimeLimit,
                                      @JsonProperty("cpu-throttle-initial") Integer cpuThrottleInitial,
                                      @JsonProperty("cpu-throttle-increment") Integer cpuThrottleIncrement,
                                      @JsonProperty("max-cpu-throttle") Integer maxCpuThrottle) {
    }

    /** A migration capability and its state (query-migrate-capabilities and migrate-set-capabilities). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record MigrationCapability(String capability, boolean state) {
    }
}
