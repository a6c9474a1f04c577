package io.vmmig.testkit.net;

import java.nio.file.Path;
import java.time.Duration;

/** Child JVM for {@link LabJvmDeathTest}: builds a lab with a forwarder, reports it, waits to be killed. */
public final class StrayLabMain {
    private StrayLabMain() {
    }

    public static void main(String[] args) throws Exception {
        NetworkLab lab = NetworkLab.create();
        TcpForwarder f = lab.forwarder(LabHost.A, Endpoint.unix(Path.of(args[0])),
                Endpoint.tcp(LabHost.B.address(), 9), Duration.ZERO);
        System.out.println("LAB " + lab.namespace(LabHost.A) + " " + lab.namespace(LabHost.B) + " "
                + f.listenEndpoint().spec());
        System.out.flush();
        while (System.in.read() >= 0) {
            // until killed
        }
    }
}
