package io.vmmig.agent.peer;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * This agent's one TLS identity (PKCS#8 PEM key and certificate chain), always presented whatever CAs
 * the peer says it accepts, so a peer that does not trust it says why rather than "no certificate".
 */
final class PeerIdentity extends X509ExtendedKeyManager {
    private static final String ALIAS = "agent";
    private final PrivateKey key;
    private final X509Certificate[] chain;

    private PeerIdentity(PrivateKey key, X509Certificate[] chain) {
        this.key = key;
        this.chain = chain;
    }

    static PeerIdentity load(Path keyFile, Path certFile) {
        List<X509Certificate> chain = PeerTls.readCertificates(certFile, "certificate");
        return new PeerIdentity(readKey(keyFile), chain.toArray(new X509Certificate[0]));
    }

    private static PrivateKey readKey(Path file) {
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new PeerTransportException("cannot read private key " + file + ": " + e.getMessage(), e);
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin)
            throw new PeerTransportException("private key " + file + " is not an unencrypted PKCS#8 PEM key"
                    + " (convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out " + file.getFileName() + ")");
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        } catch (IllegalArgumentException e) {
            throw new PeerTransportException("private key " + file + " is not valid base64: " + e.getMessage(), e);
        }
        for (String alg : List.of("EC", "RSA", "Ed25519", "Ed448")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new PeerTransportException("private key " + file + " is neither EC, RSA nor EdDSA");
    }

    private String aliasFor(String keyType) {
        String alg = key.getAlgorithm();
        boolean fits = keyType.equalsIgnoreCase(alg)
                || (alg.equals("RSA") && keyType.equals("RSASSA-PSS"))
                || (alg.equals("EC") && keyType.startsWith("EC"))
                || (alg.startsWith("Ed") && keyType.equals("EdDSA"));
        return fits ? ALIAS : null;
    }

    @Override public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        for (String t : keyTypes) if (aliasFor(t) != null) return ALIAS;
        return null;
    }

    @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return chooseEngineClientAlias(keyTypes, issuers, null);
    }

    @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override public String[] getClientAliases(String keyType, Principal[] issuers) {
        return aliasFor(keyType) == null ? null : new String[] {ALIAS};
    }

    @Override public String[] getServerAliases(String keyType, Principal[] issuers) {
        return getClientAliases(keyType, issuers);
    }

    @Override public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? key : null;
    }
}
