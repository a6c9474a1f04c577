package io.vmmig.strategy;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The disks of a {@link DiskLayout} as one backend over the migration's address space: a range is cut
 * at disk boundaries and each piece goes to its disk's backend at the offset inside that disk. The
 * padding between two disks reads as zeroes and takes writes without storing them (no chunk holds
 * bytes of two disks, so only a disk's last chunk reaches into it). One disk: every call goes
 * through unchanged.
 */
public final class DiskSetBackend implements BlockBackend {
    private final DiskLayout layout;
    private final List<BlockBackend> disks;

    public DiskSetBackend(DiskLayout layout, List<? extends BlockBackend> disks) {
        if (disks.size() != layout.count())
            throw new IllegalArgumentException(disks.size() + " backends for " + layout.count() + " disks");
        for (int i = 0; i < disks.size(); i++)
            if (disks.get(i).size() < layout.disk(i).size())
                throw new IllegalArgumentException("backend of " + disks.get(i).size() + " bytes for disk "
                        + layout.disk(i).name() + " of " + layout.disk(i).size());
        this.layout = layout;
        this.disks = List.copyOf(disks);
    }

    public DiskLayout layout() {
        return layout;
    }

    @Override public long size() { return layout.totalSize(); }
    @Override public boolean readOnly() { return disks.stream().anyMatch(BlockBackend::readOnly); }
    @Override public BackendCapabilities capabilities() { return BackendCapabilities.MINIMAL; }

    /** A piece of a range inside one disk (or in padding: {@code disk} -1). */
    private record Piece(int disk, long diskOffset, int bufferOffset, int length) {}

    private List<Piece> pieces(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > layout.totalSize())
            throw new IllegalArgumentException("range " + offset + "+" + length + " outside the migration's "
                    + layout.totalSize() + " bytes");
        List<Piece> out = new ArrayList<>(1);
        long at = offset, end = offset + length;
        while (at < end) {
            DiskLayout.Disk d = layout.diskAt(at);
            long regionEnd = d.index() == layout.count() - 1 ? layout.totalSize() : layout.disk(d.index() + 1).base();
            long stop = Math.min(end, regionEnd);
            if (at < d.end()) {
                long dataStop = Math.min(stop, d.end());
                out.add(new Piece(d.index(), at - d.base(), (int) (at - offset), (int) (dataStop - at)));
                at = dataStop;
            }
            if (at < stop) {
                out.add(new Piece(-1, 0, (int) (at - offset), (int) (stop - at)));
                at = stop;
            }
        }
        return out;
    }

    private static CompletableFuture<Void> all(List<CompletableFuture<Void>> fs) {
        return fs.size() == 1 ? fs.get(0) : CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new));
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        if (disks.size() == 1) return disks.get(0).read(offset, dst);
        int start = dst.position();
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (Piece p : pieces(offset, dst.remaining())) {
            ByteBuffer slice = dst.slice(start + p.bufferOffset(), p.length());
            if (p.disk() < 0) {
                while (slice.hasRemaining()) slice.put((byte) 0);
                continue;
            }
            fs.add(disks.get(p.disk()).read(p.diskOffset(), slice));
        }
        return all(fs.isEmpty() ? List.of(CompletableFuture.completedFuture(null)) : fs)
                .thenRun(() -> dst.position(dst.limit()));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        if (disks.size() == 1) return disks.get(0).write(offset, src, fua);
        int start = src.position();
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (Piece p : pieces(offset, src.remaining()))
            if (p.disk() >= 0) fs.add(disks.get(p.disk()).write(p.diskOffset(), src.slice(start + p.bufferOffset(), p.length()), fua));
        return all(fs.isEmpty() ? List.of(CompletableFuture.completedFuture(null)) : fs);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        if (disks.size() == 1) return disks.get(0).writeZeroes(offset, length, mayTrim, fastZero, fua);
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (Piece p : pieces(offset, length))
            if (p.disk() >= 0) fs.add(disks.get(p.disk()).writeZeroes(p.diskOffset(), p.length(), mayTrim, fastZero, fua));
        return all(fs.isEmpty() ? List.of(CompletableFuture.completedFuture(null)) : fs);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        if (disks.size() == 1) return disks.get(0).trim(offset, length, fua);
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (Piece p : pieces(offset, length))
            if (p.disk() >= 0) fs.add(disks.get(p.disk()).trim(p.diskOffset(), p.length(), fua));
        return all(fs.isEmpty() ? List.of(CompletableFuture.completedFuture(null)) : fs);
    }

    @Override
    public CompletableFuture<Void> cache(long offset, long length) {
        if (disks.size() == 1) return disks.get(0).cache(offset, length);
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (Piece p : pieces(offset, length))
            if (p.disk() >= 0) fs.add(disks.get(p.disk()).cache(p.diskOffset(), p.length()));
        return all(fs.isEmpty() ? List.of(CompletableFuture.completedFuture(null)) : fs);
    }

    @Override
    public CompletableFuture<Void> flush() {
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (BlockBackend b : disks) fs.add(b.flush());
        return all(fs);
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return CompletableFuture.completedFuture(List.of(new Extent(Math.min(length, size() - offset), 0)));
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (BlockBackend b : disks) {
            try {
                b.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
