package io.vmmig.agent.cli;

import io.vmmig.strategy.qemu.MemorySettings;
import picocli.CommandLine.ITypeConverter;

/** {@code --memory-bandwidth RATE|unlimited}: a rate as {@code --bandwidth} takes it, or {@code unlimited}. */
public final class MemoryBandwidthConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        if (value.strip().equalsIgnoreCase("unlimited")) return MemorySettings.UNLIMITED;
        return new BandwidthConverter().convert(value);
    }
}
