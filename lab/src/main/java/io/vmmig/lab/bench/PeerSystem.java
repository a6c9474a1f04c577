package io.vmmig.lab.bench;

/** The systems of the side-by-side scenario, each on the same guest and link in the same run. */
public enum PeerSystem {
    VMMIG_QEMU("vmmig-qemu", "vmmig hybrid on a plain QEMU process (the bench's engine path, in this JVM)",
            "the bench JVM (both engine ends run in it, plus the bench's own console readers)"),
    LIBVIRT("libvirt", "libvirt 9.0: virsh migrate --live --copy-storage-all --p2p between the two lab libvirtd",
            "both libvirtd (the data itself is moved by the QEMUs: NBD mirror and memory stream)"),
    VMMIG_LIBVIRT("vmmig-libvirt", "vmmig hybrid of the libvirt domain: vmmig migrate DOMAIN DEST, one agent per lab host",
            "both vmmig agent JVMs");

    private final String label;
    private final String description;
    private final String agents;

    PeerSystem(String label, String description, String agents) {
        this.label = label;
        this.description = description;
        this.agents = agents;
    }

    public String label() {
        return label;
    }

    public String description() {
        return description;
    }

    /** Whose CPU the "agent CPU s" column counts. */
    public String agents() {
        return agents;
    }
}
