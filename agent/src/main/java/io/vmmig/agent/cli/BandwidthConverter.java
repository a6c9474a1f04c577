package io.vmmig.agent.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --bandwidth RATE}: bytes per second, more than zero (see {@link ByteQuantity#parseRate}). */
public final class BandwidthConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        long rate;
        try {
            rate = ByteQuantity.parseRate(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
        if (rate <= 0) throw new TypeConversionException("'" + value + "' is not more than zero bytes per second");
        return rate;
    }
}
