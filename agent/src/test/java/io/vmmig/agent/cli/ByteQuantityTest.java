package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

class ByteQuantityTest {

    @ParameterizedTest
    @CsvSource({"65536,65536", "256K,262144", "256k,262144", "1M,1048576", "1MiB,1048576", "1mb,1048576",
            "4 MiB,4194304", "1G,1073741824", "2T,2199023255552", "1.5K,1536", "512B,512"})
    void sizes(String text, long bytes) {
        assertEquals(bytes, ByteQuantity.parseSize(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "K", "-1M", "1.3", "12x", "1Mbit", "1 M B", "0x100", "99999999999T"})
    void badSizes(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteQuantity.parseSize(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"100M,104857600", "12.5MiB/s,13107200", "100Mbit,12500000", "1Gbit/s,125000000", "1G,1073741824",
            "800bit,100", "1Mibit,131072", "1000,1000", "64K/s,65536", "10 MB/s,10485760", "100mbits,12500000"})
    void rates(String text, long bytesPerSecond) {
        assertEquals(bytesPerSecond, ByteQuantity.parseRate(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"fast", "100Mbyte", "12.5 MiB/h", "M/s", "1e6", "-5M"})
    void badRates(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteQuantity.parseRate(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @Test
    void bandwidthMustBeMoreThanZero() {
        assertEquals(12_500_000L, new BandwidthConverter().convert("100Mbit"));
        assertThrows(TypeConversionException.class, () -> new BandwidthConverter().convert("0M"));
        assertThrows(TypeConversionException.class, () -> new BandwidthConverter().convert("7bit"));
    }

    @ParameterizedTest
    @CsvSource({"64K,65536", "256K,262144", "1M,1048576", "16M,16777216", "131072,131072"})
    void chunkSizes(String text, int bytes) {
        assertEquals(bytes, new ChunkSizeConverter().convert(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"32K", "32M", "100K", "65535", "0", "1.5M", "big"})
    void badChunkSizes(String text) {
        TypeConversionException e = assertThrows(TypeConversionException.class, () -> new ChunkSizeConverter().convert(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }

    @Test
    void strategies() {
        assertEquals("mirror-wb", new StrategyConverter().convert("Mirror-WB"));
        TypeConversionException e = assertThrows(TypeConversionException.class, () -> new StrategyConverter().convert("rsync"));
        assertTrue(e.getMessage().contains("'rsync'") && e.getMessage().contains("hybrid, precopy"), e.getMessage());
    }

    @Test
    void formatsForPeople() {
        assertEquals("512 B", ByteQuantity.format(512));
        assertEquals("1.50 KiB", ByteQuantity.format(1536));
        assertEquals("12.0 MiB", ByteQuantity.format(12L << 20));
        assertEquals("300 MiB", ByteQuantity.format(300L << 20));
        assertEquals("2.00 GiB", ByteQuantity.format(2L << 30));
    }
}
