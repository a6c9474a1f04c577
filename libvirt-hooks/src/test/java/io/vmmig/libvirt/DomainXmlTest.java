package io.vmmig.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The disks of a libvirt definition as libvirt 9.0 writes them (virsh dumpxml after an external snapshot) and the two rewrites. */
class DomainXmlTest {
    private static final String XML = """
            <domain type='qemu' id='2'>
              <name>lv1</name>
              <uuid>9db75b3b-8448-4de2-b520-a1c3a3f5b11b</uuid>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2' cache='none'/>
                  <source file='/srv/vmimg/lv1.ovl.qcow2' index='2'/>
                  <backingStore type='file' index='1'>
                    <format type='qcow2'/>
                    <source file='/srv/vmimg/lv1.qcow2'/>
                    <backingStore/>
                  </backingStore>
                  <target dev='vda' bus='virtio'/>
                  <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
                </disk>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source file='/srv/vmimg/data.raw' index='3'/>
                  <backingStore/>
                  <target dev='vdb' bus='virtio'/>
                </disk>
                <disk type='file' device='cdrom'>
                  <driver name='qemu' type='raw'/>
                  <source file='/srv/iso/install.iso'/>
                  <target dev='sda' bus='sata'/>
                  <readonly/>
                </disk>
                <disk type='network' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source protocol='rbd' name='pool/img'><host name='mon1' port='6789'/></source>
                  <target dev='vdc' bus='virtio'/>
                </disk>
              </devices>
            </domain>
            """;

    @Test
    void disksAndWhichMove() {
        DomainXml x = DomainXml.parse(XML);
        assertEquals("lv1", x.name());
        assertEquals("9db75b3b-8448-4de2-b520-a1c3a3f5b11b", x.uuid());
        List<DomainDisk> d = x.disks();
        assertEquals(List.of("vda", "vdb", "sda", "vdc"), d.stream().map(DomainDisk::target).toList());
        assertEquals("/srv/vmimg/lv1.qcow2", d.get(0).backing());
        assertTrue(d.get(0).whyNotMovable().contains("backing file /srv/vmimg/lv1.qcow2"), d.get(0).whyNotMovable());
        assertNull(d.get(1).whyNotMovable(), "an empty <backingStore/> is no chain");
        assertEquals("raw", d.get(1).format());
        assertEquals("cdrom device", d.get(2).whyNotMovable());
        assertTrue(d.get(3).whyNotMovable().startsWith("network disk"));
    }

    @Test
    void destinationDefinitionPutsTheNamedDisksOnNbdAndKeepsTheRest() {
        String dest = DomainXml.parse(XML).withNbdDisks(Map.of("vdb", "/run/vmmig/m-1/vdb-nbd.sock"), "disk");
        DomainXml d = DomainXml.parse(dest);
        DomainDisk vdb = d.disks().get(1);
        assertEquals("network", vdb.type());
        assertEquals("raw", vdb.format());
        assertNull(vdb.source());
        assertTrue(dest.contains("<source name=\"disk\" protocol=\"nbd\"><host socket=\"/run/vmmig/m-1/vdb-nbd.sock\" transport=\"unix\"/></source>"), dest);
        assertEquals("/srv/vmimg/lv1.ovl.qcow2", d.disks().get(0).source(), "vda untouched");
        assertTrue(dest.contains("slot=\"0x02\""), "device addresses kept (ABI)");
    }

    @Test
    void persistentDefinitionPutsTheNamedDisksOnTheirLocalFilesWithoutChain() {
        String p = DomainXml.parse(XML).withFileDisks(Map.of("vda", new DomainXml.LocalFile("/srv/vmimg/lv1.qcow2", "qcow2")));
        DomainDisk vda = DomainXml.parse(p).disks().get(0);
        assertEquals("file", vda.type());
        assertEquals("/srv/vmimg/lv1.qcow2", vda.source());
        assertNull(vda.backing());
        assertFalse(p.contains("lv1.ovl.qcow2"));
        assertTrue(p.contains("cache=\"none\""), "driver attributes kept");
    }
}
