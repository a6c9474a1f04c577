package io.vmmig.agent.config;

/**
 * How this agent talks to libvirt, for libvirt-managed domains.
 *
 * @param uri          the local libvirtd ({@code libvirt.uri}, default {@code qemu:///system})
 * @param migrationUri as a destination: the URI a source host's libvirtd opens to reach this host's libvirtd for
 *                     a peer-to-peer migration ({@code libvirt.migration-uri}, default
 *                     {@code qemu+tls://MIGRATION-ADDRESS/system}); the destination agent hands it to the source
 */
public record LibvirtSettings(String uri, String migrationUri) {
    public static final String DEFAULT_URI = "qemu:///system";

    public static LibvirtSettings defaults(String migrationHost) {
        String h = migrationHost == null || migrationHost.equals("0.0.0.0") || migrationHost.equals("::") ? "localhost"
                : migrationHost.contains(":") ? "[" + migrationHost + "]" : migrationHost;
        return new LibvirtSettings(DEFAULT_URI, "qemu+tls://" + h + "/system");
    }
}
