package io.vmmig.nbd.client;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Test listener: knows a fixed set of requests (cookie to READ range or other command), records every
 * event as text, rejects replies that do not fit the request as a protocol error (as the client does).
 */
final class RecordingListener implements ReplyListener {
    /** cookie -> {offset, length}; length < 0 means "not a read". */
    private final Map<Long, long[]> requests;
    final List<String> events = new ArrayList<>();
    private final boolean discardData;
    private ByteBuffer current;

    RecordingListener(Map<Long, long[]> requests, boolean discardData) {
        this.requests = requests;
        this.discardData = discardData;
    }

    private long[] req(long cookie) throws NbdProtocolException {
        long[] r = requests.get(cookie);
        if (r == null) throw new NbdProtocolException("unknown cookie " + cookie);
        return r;
    }

    private void inRange(long cookie, long offset, long length) throws NbdProtocolException {
        long[] r = req(cookie);
        if (r[1] < 0 || offset < r[0] || offset + length > r[0] + r[1]) throw new NbdProtocolException("out of range");
    }

    @Override
    public long onSimpleReply(long cookie, int error) throws NbdProtocolException {
        long[] r = req(cookie);
        events.add("simple " + cookie + " error=" + error);
        return error == 0 && r[1] > 0 ? r[1] : 0;
    }

    @Override
    public ByteBuffer simpleDataTarget(long cookie, int length) {
        current = discardData ? null : ByteBuffer.allocate(length);
        return current;
    }

    @Override
    public void onSimpleReplyDone(long cookie) {
        events.add("simple-done " + cookie + (current == null ? "" : " " + HexFormat.of().formatHex(current.array())));
        current = null;
    }

    @Override
    public ByteBuffer dataTarget(long cookie, long offset, int length) throws NbdProtocolException {
        inRange(cookie, offset, length);
        current = discardData ? null : ByteBuffer.allocate(length);
        return current;
    }

    @Override
    public void onData(long cookie, int flags, long offset, int length) {
        events.add("data " + cookie + " f=" + flags + " @" + offset + "+" + length
                + (current == null ? "" : " " + HexFormat.of().formatHex(current.array())));
        current = null;
    }

    @Override
    public void onHole(long cookie, int flags, long offset, int length) throws NbdProtocolException {
        inRange(cookie, offset, length & 0xffffffffL);
        events.add("hole " + cookie + " f=" + flags + " @" + offset + "+" + length);
    }

    @Override
    public void onBlockStatus(long cookie, int flags, int contextId, int[] extents) throws NbdProtocolException {
        req(cookie);
        events.add("bs " + cookie + " f=" + flags + " ctx=" + contextId + " " + Arrays.toString(extents));
    }

    @Override
    public void onError(long cookie, int flags, int type, int errno, String message, long errorOffset)
            throws NbdProtocolException {
        req(cookie);
        events.add("error " + cookie + " f=" + flags + " t=" + type + " errno=" + errno + " '" + message + "' @" + errorOffset);
    }

    @Override
    public void onNone(long cookie, int flags) throws NbdProtocolException {
        req(cookie);
        events.add("none " + cookie + " f=" + flags);
    }
}
