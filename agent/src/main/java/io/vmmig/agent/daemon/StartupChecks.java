package io.vmmig.agent.daemon;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.config.HostPort;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * What {@code vmmig agent} checks before it starts anything, so that a configuration that cannot
 * work stops it at once with one line per problem, each naming the key and the reason (and the
 * agent exits with {@link AgentCommand#EXIT_CONFIG}, which systemd does not restart):
 * the TLS files readable and parseable, the key the one of the certificate (a signature made with
 * the key verifies with the certificate's public key), the certificate valid today, the QEMU
 * binaries executable, the ports of {@code listen} and {@code metrics.listen} free, {@code state-dir}
 * and {@code image-dirs} directories where they exist, nothing but a socket at {@code control-socket} (a regular
 * file, directory or symbolic link there is refused and left intact), {@code control-socket.group} a group. A certificate not issued by the CA of
 * {@code tls.ca} is only one of the {@link #warnings}: it can be right (peers that trust another CA).
 */
public final class StartupChecks {
    private final UnaryOperator<String> env;

    /** @param env the environment ({@code System::getenv}): PATH, to find the QEMU binaries */
    public StartupChecks(UnaryOperator<String> env) {
        this.env = env;
    }

    /** Every problem found, one line each; empty if none. */
    public List<String> problems(AgentConfig c) {
        List<String> out = new ArrayList<>();
        if (!c.insecure()) tls(c, out);
        binary("qemu", c.qemuBinary(), out);
        binary("qemu-img (the destination creates images with it)", "qemu-img", out);
        port("listen", new HostPort(c.listenHost(), c.listenPort()), out);
        if (c.metricsListen() != null) {
            if (c.metricsListen().port() == c.listenPort() && c.listenPort() != 0)
                out.add("metrics.listen = " + c.metricsListen() + ": the same port as listen");
            else port("metrics.listen", c.metricsListen(), out);
        }
        directory("state-dir", c.stateDir(), out);
        controlSocket(c, out);
        for (Path d : c.imageDirs()) directory("image-dirs", d, out);
        return out;
    }

    private static void tls(AgentConfig c, List<String> out) {
        List<X509Certificate> certs = certificates("tls.cert", c.tlsCert(), out);
        List<X509Certificate> cas = certificates("tls.ca", c.tlsCa(), out);
        PrivateKey key = privateKey(c.tlsKey(), out);
        if (certs.isEmpty()) return;
        X509Certificate leaf = certs.get(0);
        try {
            leaf.checkValidity();
        } catch (CertificateExpiredException e) {
            out.add("tls.cert = " + c.tlsCert() + ": expired on " + leaf.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            out.add("tls.cert = " + c.tlsCert() + ": not valid before " + leaf.getNotBefore().toInstant());
        }
        if (key != null && !matches(key, leaf))
            out.add("tls.key = " + c.tlsKey() + ": not the key of the certificate in tls.cert (" + c.tlsCert() + ", "
                    + leaf.getSubjectX500Principal().getName() + ")");
    }

    /** What may be wrong but can be right, one line each. */
    public List<String> warnings(AgentConfig c) {
        List<String> out = new ArrayList<>();
        if (c.insecure()) return out;
        List<String> ignored = new ArrayList<>();
        List<X509Certificate> certs = certificates("tls.cert", c.tlsCert(), ignored);
        List<X509Certificate> cas = certificates("tls.ca", c.tlsCa(), ignored);
        if (!certs.isEmpty() && !cas.isEmpty() && !issuedBy(certs, cas))
            out.add("tls.cert = " + c.tlsCert() + ": not issued by the CA in tls.ca (" + c.tlsCa() + "): its issuer is "
                    + certs.get(certs.size() - 1).getIssuerX500Principal().getName() + "; peers that trust only that CA will refuse this agent");
        return out;
    }

    private static boolean readable(String key, Path p, List<String> out) {
        if (!Files.exists(p)) out.add(key + " = " + p + ": no such file");
        else if (!Files.isRegularFile(p)) out.add(key + " = " + p + ": not a file");
        else if (!Files.isReadable(p)) out.add(key + " = " + p + ": not readable by this user");
        else return true;
        return false;
    }

    private static List<X509Certificate> certificates(String key, Path p, List<String> out) {
        if (!readable(key, p, out)) return List.of();
        try (InputStream in = Files.newInputStream(p)) {
            List<X509Certificate> certs = new ArrayList<>();
            for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) certs.add((X509Certificate) cert);
            if (certs.isEmpty()) out.add(key + " = " + p + ": no certificate in it (PEM, BEGIN CERTIFICATE)");
            return certs;
        } catch (IOException | GeneralSecurityException e) {
            out.add(key + " = " + p + ": not a PEM certificate: " + CauseChain.of(e));
            return List.of();
        }
    }

    private static PrivateKey privateKey(Path p, List<String> out) {
        if (!readable("tls.key", p, out)) return null;
        String pem;
        try {
            pem = Files.readString(p, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            out.add("tls.key = " + p + ": cannot read: " + CauseChain.of(e));
            return null;
        }
        if (pem.contains("BEGIN ENCRYPTED PRIVATE KEY")) {
            out.add("tls.key = " + p + ": encrypted; the agent needs it unencrypted (PKCS#8, BEGIN PRIVATE KEY)");
            return null;
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            out.add("tls.key = " + p + ": not a PKCS#8 PEM key (BEGIN PRIVATE KEY; convert with openssl pkcs8 -topk8 -nocrypt)");
            return null;
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        } catch (IllegalArgumentException e) {
            out.add("tls.key = " + p + ": bad PEM: " + e.getMessage());
            return null;
        }
        for (String alg : new String[] {"RSA", "EC", "Ed25519", "Ed448"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // the next algorithm
            }
        }
        out.add("tls.key = " + p + ": not an RSA, EC or EdDSA private key");
        return null;
    }

    /** Whether a signature made with {@code key} verifies with the certificate's public key. */
    static boolean matches(PrivateKey key, X509Certificate cert) {
        String alg = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> key.getAlgorithm();   // Ed25519, Ed448
        };
        try {
            byte[] data = new byte[32];
            new SecureRandom().nextBytes(data);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(data);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(cert.getPublicKey());
            v.update(data);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;   // e.g. an EC key and an RSA certificate
        }
    }

    /** The certificate file's chain ends at one of the CA file's certificates. */
    private static boolean issuedBy(List<X509Certificate> chain, List<X509Certificate> cas) {
        X509Certificate top = chain.get(chain.size() - 1);
        for (X509Certificate ca : cas) {
            if (!ca.getSubjectX500Principal().equals(top.getIssuerX500Principal())) continue;
            try {
                top.verify(ca.getPublicKey());
                return true;
            } catch (GeneralSecurityException e) {
                // another CA of the same name, maybe
            }
        }
        return false;
    }

    private void binary(String key, String binary, List<String> out) {
        if (binary.contains("/")) {
            Path p = Path.of(binary);
            if (!Files.isRegularFile(p)) out.add(key + " = " + binary + ": no such file");
            else if (!Files.isExecutable(p)) out.add(key + " = " + binary + ": not executable");
            return;
        }
        String path = env.apply("PATH");
        if (path != null) {
            for (String dir : path.split(":")) {
                if (dir.isEmpty()) continue;
                Path p = Path.of(dir).resolve(binary);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) return;
            }
        }
        out.add(key + (key.equals(binary) || key.startsWith(binary + " ") ? "" : " = " + binary) + ": not found in PATH (" + path + ")");
    }

    private static void port(String key, HostPort at, List<String> out) {
        InetAddress a;
        try {
            a = InetAddress.getByName(at.host());
        } catch (IOException e) {
            out.add(key + " = " + at + ": cannot resolve " + at.host() + ": " + CauseChain.of(e));
            return;
        }
        if (at.port() == 0) return;
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(a, at.port()));
        } catch (IOException e) {
            out.add(key + " = " + at + ": cannot listen: " + CauseChain.of(e));
        }
    }

    /** Nothing or a socket at {@code control-socket} (never a file the agent would clobber), its group known. */
    private static void controlSocket(AgentConfig c, List<String> out) {
        String problem = ControlSocketFile.problem(c.controlSocket());
        if (problem != null) out.add(problem);
        Path parent = c.controlSocket().getParent();
        if (parent != null && Files.exists(parent) && !Files.isDirectory(parent))
            out.add("control-socket = " + c.controlSocket() + ": " + parent + " is not a directory");
        String group = c.controlOptions().group();
        if (group != null) {
            try {
                c.controlSocket().getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
            } catch (IOException e) {
                out.add("control-socket.group = " + group + ": no such group on this host");
            }
        }
    }

    private static void directory(String key, Path p, List<String> out) {
        if (Files.exists(p) && !Files.isDirectory(p)) out.add(key + " = " + p + ": not a directory");
    }
}
