package io.vmmig.it.agent;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Talks to an agent's control socket the way the CLI does, for tests that need the events themselves. */
final class ControlClient {
    private ControlClient() {
    }

    /** Sends {@code request} and returns every event up to the terminal one. */
    static List<ControlEvent> exchange(Path socket, ControlRequest request, Consumer<ControlEvent> each) throws IOException {
        List<ControlEvent> events = new ArrayList<>();
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            Channels.newOutputStream(ch).write((ControlCodec.encode(request) + "\n").getBytes(StandardCharsets.UTF_8));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                ControlEvent e = ControlCodec.decodeEvent(line);
                events.add(e);
                each.accept(e);
                if (e.terminal()) break;
            }
        }
        return events;
    }
}
