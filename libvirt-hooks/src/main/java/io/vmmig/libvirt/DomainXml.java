package io.vmmig.libvirt;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * A libvirt domain definition (the XML of {@code virDomainGetXMLDesc}) read with the JDK's DOM: its disks,
 * and the two definitions a vmmig migration hands libvirt ({@code VIR_MIGRATE_PARAM_DEST_XML} with each moved
 * disk on the destination agent's NBD socket, {@code VIR_MIGRATE_PARAM_PERSIST_XML} with each on its local file).
 * Only host-side parts of the disks change, which is what libvirt's ABI stability check allows.
 */
public final class DomainXml {
    private final Document doc;

    private DomainXml(Document doc) {
        this.doc = doc;
    }

    public static DomainXml parse(String xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            return new DomainXml(f.newDocumentBuilder().parse(new InputSource(new StringReader(xml))));
        } catch (ParserConfigurationException | SAXException | IOException e) {
            throw new IllegalArgumentException("not a libvirt domain definition: " + e.getMessage(), e);
        }
    }

    public String name() {
        return text(doc.getDocumentElement(), "name");
    }

    public String uuid() {
        return text(doc.getDocumentElement(), "uuid");
    }

    public List<DomainDisk> disks() {
        List<DomainDisk> out = new ArrayList<>();
        for (Element d : diskElements()) {
            Element target = child(d, "target");
            Element driver = child(d, "driver");
            Element source = child(d, "source");
            String path = source == null ? null
                    : source.hasAttribute("file") ? source.getAttribute("file")
                    : source.hasAttribute("dev") ? source.getAttribute("dev") : null;
            String backing = null;
            Element bs = child(d, "backingStore");
            if (bs != null) {
                Element bsrc = child(bs, "source");
                if (bsrc != null) backing = bsrc.hasAttribute("file") ? bsrc.getAttribute("file") : bsrc.getAttribute("dev");
            }
            out.add(new DomainDisk(target == null ? null : target.getAttribute("dev"), d.getAttribute("type"),
                    d.hasAttribute("device") ? d.getAttribute("device") : "disk",
                    driver == null || !driver.hasAttribute("type") ? null : driver.getAttribute("type"),
                    path, child(d, "readonly") != null, child(d, "shareable") != null, backing));
        }
        return out;
    }

    /** This definition with each disk named in {@code sockets} (target to UNIX socket path) on that socket's NBD export {@code export}, raw. */
    public String withNbdDisks(Map<String, String> sockets, String export) {
        Document copy = (Document) doc.cloneNode(true);
        for (Element d : diskElements(copy)) {
            String socket = sockets.get(targetOf(d));
            if (socket == null) continue;
            d.setAttribute("type", "network");
            removeChildren(d, "source", "backingStore");
            driverOf(copy, d).setAttribute("type", "raw");
            Element src = copy.createElement("source");
            src.setAttribute("protocol", "nbd");
            src.setAttribute("name", export);
            Element host = copy.createElement("host");
            host.setAttribute("transport", "unix");
            host.setAttribute("socket", socket);
            src.appendChild(host);
            d.insertBefore(src, child(d, "target"));
        }
        return format(copy);
    }

    /** This definition with each disk named in {@code files} (target to path and format) on that local file, no backing chain. */
    public String withFileDisks(Map<String, LocalFile> files) {
        Document copy = (Document) doc.cloneNode(true);
        for (Element d : diskElements(copy)) {
            LocalFile f = files.get(targetOf(d));
            if (f == null) continue;
            d.setAttribute("type", "file");
            removeChildren(d, "source", "backingStore");
            driverOf(copy, d).setAttribute("type", f.format());
            Element src = copy.createElement("source");
            src.setAttribute("file", f.path());
            d.insertBefore(src, child(d, "target"));
        }
        return format(copy);
    }

    /** A local image file and its format. */
    public record LocalFile(String path, String format) {}

    private static String targetOf(Element disk) {
        Element t = child(disk, "target");
        return t == null ? null : t.getAttribute("dev");
    }

    private static Element driverOf(Document doc, Element disk) {
        Element driver = child(disk, "driver");
        if (driver == null) {
            driver = doc.createElement("driver");
            driver.setAttribute("name", "qemu");
            disk.insertBefore(driver, disk.getFirstChild());
        }
        return driver;
    }

    private List<Element> diskElements() {
        return diskElements(doc);
    }

    private static List<Element> diskElements(Document doc) {
        List<Element> out = new ArrayList<>();
        Element devices = child(doc.getDocumentElement(), "devices");
        if (devices == null) return out;
        NodeList nl = devices.getChildNodes();
        for (int i = 0; i < nl.getLength(); i++)
            if (nl.item(i) instanceof Element e && e.getTagName().equals("disk")) out.add(e);
        return out;
    }

    private static void removeChildren(Element parent, String... names) {
        for (String n : names) {
            Element c;
            while ((c = child(parent, n)) != null) parent.removeChild(c);
        }
    }

    static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling())
            if (n instanceof Element e && e.getTagName().equals(name)) return e;
        return null;
    }

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? null : e.getTextContent().trim();
    }

    private static String format(Document d) {
        try {
            var t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter w = new StringWriter();
            t.transform(new DOMSource(d), new StreamResult(w));
            return w.toString();
        } catch (TransformerException e) {
            throw new IllegalStateException("cannot write the domain definition: " + e.getMessage(), e);
        }
    }
}
