//! Step 2: the network, one timed step at a time, so that "it hangs" becomes "the TLS handshake
//! timed out after 30 s to 192.0.2.10:443".
//!
//! DNS, a TCP connect to the first address, and for `https` a TLS handshake that verifies the
//! certificate against the system's CA certificates plus `--ca-cert`. These are connections,
//! not requests: they carry no credentials and do not count against the request budget.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::net::TcpStream;
use url::Url;

use super::Blocked;
use super::report::{Check, Outcome, Step};
use crate::qualys::platform;

const CA_CERT_REMEDY: &str = "if this is the simulator, a TLS-inspecting proxy or a private CA, pass --ca-cert FILE with its CA certificate in PEM (qharness serve --tls --cert-out FILE writes the simulator's); otherwise stop: something between you and Qualys presents a certificate nobody vouches for";

/// Checks DNS, TCP and TLS for the origin of `url`.
pub(super) async fn check(
    url: &Url,
    ca_cert_pem: Option<&[u8]>,
    timeout: Duration,
    checks: &mut Vec<Check>,
) -> Result<(), Blocked> {
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let target = format!("{host}:{port}");
    let mut record = |step, outcome, millis, detail: String, remedy: Option<&str>| {
        checks.push(Check {
            step,
            target: target.clone(),
            outcome,
            millis: Some(millis),
            detail: detail.clone(),
            remedy: remedy.map(str::to_string),
        });
        if outcome == Outcome::Failed {
            Err(Blocked {
                problem: format!("network: {target}: {detail}"),
                remedy: remedy.unwrap_or_default().to_string(),
                stream_fails: false,
            })
        } else {
            Ok(())
        }
    };

    // DNS
    let started = Instant::now();
    let lookup =
        tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port))).await;
    let took = ms(started);
    let addrs: Vec<SocketAddr> = match lookup {
        Err(_) => {
            return record(
                Step::Dns,
                Outcome::Failed,
                took,
                format!(
                    "DNS lookup of {host} timed out after {} s",
                    timeout.as_secs()
                ),
                Some(
                    "check the DNS servers of this machine, or whether it can resolve public names at all",
                ),
            );
        }
        Ok(Err(e)) => {
            return record(
                Step::Dns,
                Outcome::Failed,
                took,
                format!("{host} does not resolve: {e}"),
                Some(
                    "check the spelling of the URL against your platform (https://www.qualys.com/platform-identification/) and the DNS of this machine",
                ),
            );
        }
        Ok(Ok(a)) => a.collect(),
    };
    let Some(first) = addrs.first().copied() else {
        return record(
            Step::Dns,
            Outcome::Failed,
            took,
            format!("{host} resolves to no address"),
            Some("check the DNS of this machine"),
        );
    };
    let more = if addrs.len() > 1 {
        format!(" (and {} more)", addrs.len() - 1)
    } else {
        String::new()
    };
    record(
        Step::Dns,
        Outcome::Ok,
        took,
        format!("{host} resolves to {}{more}", first.ip()),
        None,
    )?;

    // TCP
    let proxy = proxy_in_environment().filter(|_| !platform::is_loopback(url));
    let started = Instant::now();
    let connected = tokio::time::timeout(timeout, TcpStream::connect(first)).await;
    let took = ms(started);
    let connected = match connected {
        Ok(Ok(stream)) => Ok(stream),
        Err(_) => Err(format!(
            "TCP connect to {first} timed out after {} s",
            timeout.as_secs()
        )),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(format!(
            "TCP connect to {first} refused: nothing listens on port {port}"
        )),
        Ok(Err(e)) => Err(format!("TCP connect to {first} failed: {e}")),
    };
    let tcp = match connected {
        Ok(stream) => stream,
        Err(why) => {
            if let Some(var) = proxy {
                // The requests go through the proxy; a direct connection is allowed to fail.
                return record(
                    Step::Tcp,
                    Outcome::Warning,
                    took,
                    format!("{why}; {var} names a proxy, which the requests use"),
                    Some("if the account check below fails too, check the proxy"),
                );
            }
            return record(
                Step::Tcp,
                Outcome::Failed,
                took,
                why,
                Some(
                    "check the port of the URL, and any firewall on the way (Qualys serves HTTPS on 443; outbound 443 must be open)",
                ),
            );
        }
    };
    record(
        Step::Tcp,
        Outcome::Ok,
        took,
        format!("connected to {first}"),
        None,
    )?;

    if url.scheme() != "https" {
        return Ok(());
    }

    // TLS
    let (config, roots) = match tls_config(ca_cert_pem) {
        Ok(c) => c,
        Err(problem) => {
            return record(
                Step::Tls,
                Outcome::Failed,
                0,
                problem,
                Some("give --ca-cert a PEM file holding one or more CERTIFICATE blocks"),
            );
        }
    };
    let name = match ServerName::try_from(host.clone()) {
        Ok(n) => n,
        Err(e) => {
            return record(
                Step::Tls,
                Outcome::Failed,
                0,
                format!("{host} is not a name TLS can verify: {e}"),
                Some("use the platform's host name in the URL"),
            );
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let started = Instant::now();
    let handshake = tokio::time::timeout(timeout, connector.connect(name, tcp)).await;
    let took = ms(started);
    match handshake {
        Ok(Ok(_)) => record(
            Step::Tls,
            Outcome::Ok,
            took,
            format!("handshake done, certificate verified for {host} ({roots})"),
            None,
        ),
        Err(_) => record(
            Step::Tls,
            Outcome::Failed,
            took,
            format!(
                "TLS handshake timed out after {} s to {first}",
                timeout.as_secs()
            ),
            Some(
                "something accepts the connection but does not speak TLS: check the port, and any proxy or firewall that inspects traffic",
            ),
        ),
        Ok(Err(e)) => {
            let certificate = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
            if certificate {
                record(
                    Step::Tls,
                    Outcome::Failed,
                    took,
                    format!(
                        "the server's certificate is not trusted ({e}); checked against {roots}"
                    ),
                    Some(CA_CERT_REMEDY),
                )
            } else {
                record(
                    Step::Tls,
                    Outcome::Failed,
                    took,
                    format!("TLS handshake with {first} failed: {e}"),
                    Some("check that the port serves HTTPS and that no proxy interferes"),
                )
            }
        }
    }
}

/// The client configuration: the system's CA certificates plus `--ca-cert`, and a description
/// of what is trusted for the report.
fn tls_config(ca_cert_pem: Option<&[u8]>) -> Result<(rustls::ClientConfig, String), String> {
    let mut store = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    let (system_count, _) = store.add_parsable_certificates(system.certs);
    let mut extra = 0;
    if let Some(pem) = ca_cert_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("--ca-cert is not a PEM certificate file: {e}"))?;
            store
                .add(cert)
                .map_err(|e| format!("--ca-cert holds a certificate rustls refuses: {e}"))?;
            extra += 1;
        }
        if extra == 0 {
            return Err("--ca-cert holds no CERTIFICATE block".into());
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth();
    let roots = match (system_count, extra) {
        (s, 0) => format!("{s} system CA certificates, no --ca-cert"),
        (s, e) => format!("{s} system CA certificates and {e} from --ca-cert"),
    };
    Ok((config, roots))
}

fn proxy_in_environment() -> Option<&'static str> {
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn ms(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}
