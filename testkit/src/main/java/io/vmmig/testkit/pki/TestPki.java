package io.vmmig.testkit.pki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * CAs and certificates made with the real openssl into a directory (EC P-256, PKCS#8 keys): for tests,
 * and for the demo's throwaway agents. Not for production certificates.
 */
public final class TestPki {
    public final Path dir;

    public TestPki(Path dir) {
        this.dir = dir;
    }

    /** A self-signed CA: {@code name.pem} and {@code name.key}. */
    public void ca(String name, String cn) throws IOException, InterruptedException {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc",
                "-keyout", key(name).toString(), "-out", cert(name).toString(), "-days", "2", "-subj", "/CN=" + cn,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    /** A leaf certificate issued by {@code ca}; {@code san} like "DNS:localhost,IP:127.0.0.1" or null. */
    public void leaf(String name, String cn, String san, String ca) throws IOException, InterruptedException {
        leaf(name, cn, san, ca, false);
    }

    /** Same, with an RSA 2048 key when {@code rsa}. */
    public void leaf(String name, String cn, String san, String ca, boolean rsa) throws IOException, InterruptedException {
        Path csr = dir.resolve(name + ".csr");
        List<String> keyArgs = rsa ? List.of("-newkey", "rsa:2048")
                : List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");
        List<String> args = new ArrayList<>(List.of("req", "-new"));
        args.addAll(keyArgs);
        args.addAll(List.of("-noenc", "-keyout", key(name).toString(), "-out", csr.toString(), "-subj", "/CN=" + cn));
        openssl(args.toArray(new String[0]));
        Path ext = dir.resolve(name + ".ext");
        String extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n" + (san == null ? "" : "subjectAltName=" + san + "\n");
        Files.writeString(ext, extensions);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", cert(ca).toString(), "-CAkey", key(ca).toString(),
                "-CAcreateserial", "-days", "1", "-out", cert(name).toString(), "-extfile", ext.toString());
    }

    public Path cert(String name) {
        return dir.resolve(name + ".pem");
    }

    public Path key(String name) {
        return dir.resolve(name + ".key");
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) throw new IOException("openssl timed out: " + cmd);
            if (p.exitValue() != 0)
                throw new IOException("openssl failed (" + p.exitValue() + "): " + cmd + "\n" + new String(out, StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
        }
    }
}
