package io.vmmig.agent.peer;

import java.security.cert.CertificateException;

/** A peer certificate refused by {@link CaTrustManager}; its message is meant for the operator as is. */
final class PeerCertificateException extends CertificateException {
    PeerCertificateException(String message, Throwable cause) {
        super(message, cause);
    }
}
