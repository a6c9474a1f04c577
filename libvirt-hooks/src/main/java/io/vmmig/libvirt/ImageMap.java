package io.vmmig.libvirt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.strategy.ChunkGeometry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@code qemu-img map --output=json} of an image: which ranges hold data and at which depth of its backing
 * chain. For a frozen image the chunks with data are what to push; for its overlay the chunks at depth 0
 * (written since the freeze, zeroes included) are the final dirty set.
 */
public final class ImageMap {
    /** One extent of the map. */
    public record Extent(long start, long length, int depth, boolean present, boolean zero, boolean data) {}

    private final List<Extent> extents;

    public ImageMap(List<Extent> extents) {
        this.extents = List.copyOf(extents);
    }

    /** Maps {@code image} (a path or a {@code json:} image spec), sharing it with a QEMU that may have it open ({@code -U}). */
    public static ImageMap of(String image) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("qemu-img", "map", "--output=json", "-U", image).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) throw new IOException("qemu-img map " + image + " failed: " + err);
        return parse(new String(out, StandardCharsets.UTF_8));
    }

    public static ImageMap parse(String json) throws IOException {
        List<Extent> list = new ArrayList<>();
        for (JsonNode n : new ObjectMapper().readTree(json))
            list.add(new Extent(n.path("start").asLong(), n.path("length").asLong(), n.path("depth").asInt(),
                    n.path("present").asBoolean(), n.path("zero").asBoolean(), n.path("data").asBoolean()));
        return new ImageMap(list);
    }

    public List<Extent> extents() {
        return extents;
    }

    /** Chunks touched by an extent that {@code which} accepts. */
    public BitSet chunks(ChunkGeometry g, Predicate<Extent> which) {
        BitSet b = new BitSet(g.count());
        for (Extent e : extents) {
            if (which.test(e)) g.markTouched(e.start(), e.length(), b);
        }
        return b;
    }

    /** Chunks holding data (what a push must send when the destination starts from zeroes). */
    public BitSet dataChunks(ChunkGeometry g) {
        return chunks(g, Extent::data);
    }

    /** Chunks written in the top image itself (depth 0): for a freeze overlay, what the guest changed since. */
    public BitSet topChunks(ChunkGeometry g) {
        return chunks(g, e -> e.depth() == 0 && e.present());
    }
}
