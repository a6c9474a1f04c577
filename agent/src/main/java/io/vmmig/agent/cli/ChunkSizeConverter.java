package io.vmmig.agent.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --chunk-size SIZE}: a power of two from 64 KiB to 16 MiB (see {@link ByteQuantity#parseSize}). */
public final class ChunkSizeConverter implements ITypeConverter<Integer> {
    public static final int MIN = 64 * 1024;
    public static final int MAX = 16 * 1024 * 1024;

    @Override
    public Integer convert(String value) {
        long size;
        try {
            size = ByteQuantity.parseSize(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
        if (size < MIN || size > MAX || Long.bitCount(size) != 1) {
            throw new TypeConversionException("'" + value + "' (" + size
                    + " bytes) is not a power of two from 64K to 16M (e.g. 64K, 256K, 1M, 16M)");
        }
        return (int) size;
    }
}
