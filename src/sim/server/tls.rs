//! TLS: a self-signed certificate for `127.0.0.1` and `localhost`, made at start-up.
//!
//! Clients trust it by adding [`SelfSigned::cert_pem`] as a root (tests) or the file
//! `qharness serve --tls --cert-out FILE` writes.

use std::sync::Arc;

use crate::error::{Error, Result};

/// A freshly generated certificate and the acceptor that serves it.
pub struct SelfSigned {
    pub cert_pem: String,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl SelfSigned {
    pub fn generate() -> Result<SelfSigned> {
        let problem = |what: &str, e: &dyn std::fmt::Display| Error::Simulator {
            problem: format!("could not set up TLS ({what}): {e}"),
            source: None,
        };
        let ck = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
        ])
        .map_err(|e| problem("generating the certificate", &e))?;
        let cert_der = ck.cert.der().clone();
        let key_der =
            rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| problem("choosing protocol versions", &e))?
            .with_no_client_auth()
            .with_single_cert(vec![cert_der], key_der)
            .map_err(|e| problem("loading the certificate", &e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(SelfSigned {
            cert_pem: ck.cert.pem(),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }
}
