package io.vmmig.agent.peer;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts exactly the configured CA(s) and says clearly why a peer certificate is refused: not issued
 * by the CA, host name mismatch (the engine's HTTPS endpoint identification, client side), or a client
 * name outside the allow-list (server side).
 */
final class CaTrustManager extends X509ExtendedTrustManager {
    private final X509Certificate[] cas;
    private final String caNames;
    private final Set<String> allowedClientNames;
    private final X509ExtendedTrustManager pkix;

    CaTrustManager(List<X509Certificate> cas, Set<String> allowedClientNames) {
        if (cas.isEmpty()) throw new PeerTransportException("no CA certificate given");
        this.cas = cas.toArray(new X509Certificate[0]);
        this.caNames = cas.stream().map(c -> c.getSubjectX500Principal().getName()).collect(Collectors.joining(" | "));
        this.allowedClientNames = Set.copyOf(allowedClientNames);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) store.setCertificateEntry("ca" + i, cas.get(i));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(store);
            X509ExtendedTrustManager found = null;
            for (TrustManager tm : tmf.getTrustManagers())
                if (tm instanceof X509ExtendedTrustManager x) found = x;
            if (found == null) throw new PeerTransportException("the JDK offers no X509ExtendedTrustManager");
            this.pkix = found;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new PeerTransportException("cannot build a trust store from the CA " + caNames + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        String peer = engine == null ? null : engine.getPeerHost();
        checkIssuedByCa(chain, authType, peer, true);
        try {
            pkix.checkServerTrusted(chain, authType, engine); // adds the engine's HTTPS host name check
        } catch (CertificateException e) {
            throw new PeerCertificateException("host name mismatch: expected " + peer + ", certificate is for "
                    + names(chain[0]), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        String peer = engine == null ? null : engine.getPeerHost();
        checkIssuedByCa(chain, authType, peer, false);
        checkAllowed(chain[0], peer);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkServerTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkClientTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkServerTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClientTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return cas.clone();
    }

    private void checkIssuedByCa(X509Certificate[] chain, String authType, String peer, boolean server) throws CertificateException {
        if (chain == null || chain.length == 0)
            throw new PeerCertificateException((peer == null ? "the peer" : peer) + " presented no certificate", null);
        try {
            if (server) pkix.checkServerTrusted(chain, authType);
            else pkix.checkClientTrusted(chain, authType);
        } catch (CertificateException e) {
            X509Certificate leaf = chain[0];
            throw new PeerCertificateException("certificate of " + (peer == null ? "the peer" : peer) + " not trusted by CA "
                    + caNames + " (it is " + leaf.getSubjectX500Principal().getName() + ", issued by "
                    + leaf.getIssuerX500Principal().getName() + "): " + e.getMessage(), e);
        }
    }

    private void checkAllowed(X509Certificate leaf, String peer) throws CertificateException {
        if (allowedClientNames.isEmpty()) return;
        List<String> names = clientNames(leaf);
        for (String n : names) if (allowedClientNames.contains(n)) return;
        throw new PeerCertificateException("client certificate of " + peer + " " + names + " is not in the allow-list "
                + allowedClientNames.stream().sorted().toList(), null);
    }

    /** The CN and the DNS names of a certificate: what the allow-list is matched against. */
    static List<String> clientNames(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        String cn = commonName(cert);
        if (cn != null) names.add(cn);
        for (List<?> san : sans(cert))
            if (((Integer) san.get(0)) == 2 && !names.contains(san.get(1))) names.add((String) san.get(1));
        return names;
    }

    /** The names a certificate is for, as "DNS:x", "IP:y", or its CN when it has no SAN. */
    static List<String> names(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        for (List<?> san : sans(cert)) {
            int type = (Integer) san.get(0);
            if (type == 2) names.add("DNS:" + san.get(1));
            else if (type == 7) names.add("IP:" + san.get(1));
        }
        if (names.isEmpty()) names.add("CN=" + commonName(cert));
        return names;
    }

    private static Collection<List<?>> sans(X509Certificate cert) {
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            return sans == null ? List.of() : sans;
        } catch (CertificateParsingException e) {
            return List.of();
        }
    }

    private static String commonName(X509Certificate cert) {
        try {
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(cert.getSubjectX500Principal().getName()).getRdns())
                if (rdn.getType().equalsIgnoreCase("CN")) return rdn.getValue().toString();
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
        return null;
    }
}
