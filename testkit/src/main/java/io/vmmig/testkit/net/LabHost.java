package io.vmmig.testkit.net;

/**
 * One of the two hosts of a {@link NetworkLab}: a network namespace with one end of the veth pair.
 * Every lab uses the same private /30 ({@code 10.213.0.0/30}); that is fine because each lab has its own
 * namespaces, so its addresses exist nowhere else.
 */
public enum LabHost {
    /** {@code 10.213.0.1} on {@code veth-a}. */
    A("10.213.0.1", "veth-a"),
    /** {@code 10.213.0.2} on {@code veth-b}. */
    B("10.213.0.2", "veth-b");

    /** Prefix length of the lab link. */
    public static final int PREFIX_LENGTH = 30;

    private final String address;
    private final String interfaceName;

    LabHost(String address, String interfaceName) {
        this.address = address;
        this.interfaceName = interfaceName;
    }

    /** The IPv4 address of this host on the lab link. */
    public String address() {
        return address;
    }

    /** The name of this host's veth end inside its namespace. */
    public String interfaceName() {
        return interfaceName;
    }

    /** The other host. */
    public LabHost peer() {
        return this == A ? B : A;
    }

    /** Lower-case letter used in namespace names ({@code a} or {@code b}). */
    String suffix() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
