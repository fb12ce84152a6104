//! Step 5: per stream, the smallest call that proves access, in one table.
//!
//! A [`ProbeRow`] names a stream and its [`Probe`]: one of the shapes the API families allow
//! (an FO list cut to one record, the gateway login plus the policy list, a QPS count). A new
//! stream is one more row; a new kind of probe is one more variant with its `run`. Streams that
//! share a probe (both WAS streams count web applications) share its answer: it is sent once.
//!
//! A stream the stream registry does not implement yet ([`crate::StreamRow::builtin`] is
//! `None`) is reported "not implemented" and its row is not run; the row starts working the day
//! the stream does.

use std::io::BufRead;

use reqwest::Method;
use secrecy::SecretString;
use url::Url;

use super::exchange::{Answer, Auth, Prober};
use super::report::{Outcome, ProbeCall, Visible};
use crate::client::ServiceRequest;
use crate::client::error_reader::qps;
use crate::error::{AccountProblem, Error, Result, Throttle};
use crate::parse::json::pcrs;
use crate::parse::xml::document::{self, Root};
use crate::parse::xml::service_response;
use crate::qualys::endpoint::{self, Endpoint};
use crate::qualys::{Family, Permission};
use crate::stream::StreamKind;

/// The smallest call that proves a stream works. Two rows with equal probes share one call.
#[derive(Debug, PartialEq, Eq, Hash)]
pub enum Probe {
    /// An FO list call with `truncation_limit=1`: one host and the truncation WARNING that
    /// says whether more follow. A refusal names the module permission.
    FoOneRecord { endpoint: &'static Endpoint },
    /// `POST /auth` on the gateway, then the PCRS policy list (counted).
    GatewayPolicyList,
    /// A QPS count (`POST /qps/rest/3.0/count/...`): the number of records the user can see.
    QpsCount {
        endpoint: &'static Endpoint,
        of: &'static str,
    },
}

/// One stream's probe.
pub struct ProbeRow {
    pub stream: StreamKind,
    pub probe: Probe,
    /// The calls a full pull of the stream needs at least, for the rate-limit estimate
    /// ([`super::limits::estimate`]).
    pub pull_calls: fn(&PullScale) -> u64,
}

/// What the size of a full pull is estimated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullScale {
    /// Host List pages at the configured `truncation_limit`.
    pub host_pages: u64,
    /// Posture batches per policy at the configured `host_batch_size`.
    pub host_batches: u64,
    /// Policy Compliance policies (the policy list's count, or one).
    pub policies: u64,
}

/// Every stream's probe. Order is the order of the verdict table.
pub static PROBES: &[ProbeRow] = &[
    ProbeRow {
        stream: StreamKind::VmdrAssets,
        probe: Probe::FoOneRecord {
            endpoint: &endpoint::HOST_LIST,
        },
        pull_calls: |s| s.host_pages,
    },
    ProbeRow {
        stream: StreamKind::VmdrVulnerabilities,
        probe: Probe::FoOneRecord {
            endpoint: &endpoint::HOST_DETECTION,
        },
        // Plus at least one KnowledgeBase batch.
        pull_calls: |s| s.host_pages + 1,
    },
    ProbeRow {
        stream: StreamKind::PcPosture,
        probe: Probe::GatewayPolicyList,
        // The policy list, then per policy its host IDs and the posture batches.
        pull_calls: |s| 1 + s.policies * (1 + s.host_batches),
    },
    ProbeRow {
        stream: StreamKind::WasAssets,
        probe: Probe::QpsCount {
            endpoint: &endpoint::WAS_WEBAPP_COUNT,
            of: "web applications",
        },
        // At least one search page (1000 records per page at most).
        pull_calls: |_| 1,
    },
    ProbeRow {
        stream: StreamKind::WasFindings,
        probe: Probe::QpsCount {
            endpoint: &endpoint::WAS_WEBAPP_COUNT,
            of: "web applications",
        },
        pull_calls: |_| 1,
    },
];

/// The row of `stream`.
pub fn row(stream: StreamKind) -> Option<&'static ProbeRow> {
    PROBES.iter().find(|r| r.stream == stream)
}

/// What running a probe gave.
pub(super) struct ProbeOutcome {
    pub calls: Vec<ProbeCall>,
    pub result: Result<Visible>,
}

impl Probe {
    /// Requests the probe sends at most.
    pub fn requests(&self) -> u32 {
        match self {
            Probe::FoOneRecord { .. } | Probe::QpsCount { .. } => 1,
            Probe::GatewayPolicyList => 2,
        }
    }

    /// The API family the probe calls (which host it needs).
    pub fn family(&self) -> Family {
        match self {
            Probe::FoOneRecord { endpoint } | Probe::QpsCount { endpoint, .. } => endpoint.family,
            Probe::GatewayPolicyList => Family::Gateway,
        }
    }

    pub(super) async fn run(&self, prober: &Prober, base: &Url) -> ProbeOutcome {
        let mut calls = Vec::new();
        let result = match self {
            Probe::FoOneRecord { endpoint } => {
                fo_one_record(prober, base, endpoint, &mut calls).await
            }
            Probe::GatewayPolicyList => gateway_policy_list(prober, base, &mut calls).await,
            Probe::QpsCount { endpoint, of } => {
                qps_count(prober, base, endpoint, of, &mut calls).await
            }
        };
        ProbeOutcome { calls, result }
    }
}

/// `base` joined with the endpoint's path (a proxy's path prefix is kept).
pub(super) fn url(base: &Url, endpoint: &Endpoint) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), endpoint.path());
    url.set_path(&joined);
    url.set_query(None);
    url
}

/// Sends, records the call, and returns the answer when it is a success.
async fn call(
    prober: &Prober,
    endpoint: &'static Endpoint,
    target: Url,
    method: Method,
    body: Option<(&'static str, Vec<u8>)>,
    auth: Auth<'_>,
    calls: &mut Vec<ProbeCall>,
) -> Result<Answer> {
    let path = target.path().to_string();
    let sent = prober.send(endpoint, target, method, body, auth).await;
    let (status, millis, refusal) = match &sent {
        Ok(a) => (Some(a.status()), a.millis, a.refusal()),
        Err(_) => (None, 0, None),
    };
    let failed = sent.is_err() || refusal.is_some();
    calls.push(ProbeCall {
        endpoint: endpoint.name,
        path,
        http_status: status,
        millis,
        outcome: if failed { Outcome::Failed } else { Outcome::Ok },
    });
    match (sent, refusal) {
        (Err(e), _) | (Ok(_), Some(e)) => Err(e),
        (Ok(a), None) => Ok(a),
    }
}

fn form(pairs: &[(&str, &str)]) -> Option<(&'static str, Vec<u8>)> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Some(("application/x-www-form-urlencoded", body.into_bytes()))
}

async fn fo_one_record(
    prober: &Prober,
    base: &Url,
    endpoint: &'static Endpoint,
    calls: &mut Vec<ProbeCall>,
) -> Result<Visible> {
    let body = form(&[("action", "list"), ("truncation_limit", "1")]);
    let answer = call(
        prober,
        endpoint,
        url(base, endpoint),
        Method::POST,
        body,
        Auth::Basic,
        calls,
    )
    .await?;
    let origin = answer.facts.exchange.to_string();
    let (hosts, more) = count_hosts(answer.body.as_slice(), &origin)?;
    Ok(Visible {
        count: hosts,
        more,
        of: "hosts",
    })
}

/// Counts `HOST` elements of the host list and notes the truncation `WARNING`, without reading
/// anything else of the page.
fn count_hosts<R: BufRead>(input: R, origin: &str) -> Result<(u64, bool)> {
    use quick_xml::events::Event;
    let mut reader = document::reader(input);
    let mut buf = Vec::new();
    let root = document::read_root(&mut reader, &mut buf, origin)?;
    if !matches!(root, Root::HostList | Root::HostDetections) {
        return Err(Error::Unexpected {
            origin: origin.to_string(),
            offset: 0,
            problem: format!("expected a host list, got a <{}> document", root.name()),
        });
    }
    // The path below the root: RESPONSE / HOST_LIST / HOST, RESPONSE / WARNING.
    let mut path: Vec<String> = Vec::new();
    let (mut hosts, mut more) = (0, false);
    loop {
        buf.clear();
        let event_start = reader.buffer_position();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_string();
                match (path.as_slice(), name.as_str()) {
                    ([r, l], "HOST") if r == "RESPONSE" && l == "HOST_LIST" => hosts += 1,
                    ([r], "WARNING") if r == "RESPONSE" => more = true,
                    _ => {}
                }
                path.push(name);
            }
            Ok(Event::End(_)) => {
                if path.pop().is_none() {
                    break;
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(document::xml_error(&reader, origin, e, event_start, &buf)),
        }
    }
    Ok((hosts, more))
}

async fn gateway_policy_list(
    prober: &Prober,
    base: &Url,
    calls: &mut Vec<ProbeCall>,
) -> Result<Visible> {
    let login = prober.login_form();
    let answer = call(
        prober,
        &endpoint::GATEWAY_AUTH,
        url(base, &endpoint::GATEWAY_AUTH),
        Method::POST,
        Some(("application/x-www-form-urlencoded", login)),
        Auth::None,
        calls,
    )
    .await?;
    let token = SecretString::from(String::from_utf8_lossy(&answer.body).trim().to_string());
    let answer = call(
        prober,
        &endpoint::PCRS_POLICY_LIST,
        url(base, &endpoint::PCRS_POLICY_LIST),
        Method::GET,
        None,
        Auth::Bearer(&token),
        calls,
    )
    .await?;
    let origin = answer.facts.exchange.to_string();
    let list = pcrs::read_policy_list(answer.body.as_slice(), &origin)?;
    // The stream fetches active policies unless told otherwise; those are the ones that count.
    let active = list.policy_list.iter().filter(|p| p.is_active()).count();
    Ok(Visible {
        count: active as u64,
        more: false,
        of: "active policies",
    })
}

async fn qps_count(
    prober: &Prober,
    base: &Url,
    endpoint: &'static Endpoint,
    of: &'static str,
    calls: &mut Vec<ProbeCall>,
) -> Result<Visible> {
    let body = Some(("text/xml", ServiceRequest::default().to_xml().into_bytes()));
    let answer = call(
        prober,
        endpoint,
        url(base, endpoint),
        Method::POST,
        body,
        Auth::Basic,
        calls,
    )
    .await?;
    let origin = answer.facts.exchange.to_string();
    let mut reader = document::reader(answer.body.as_slice());
    let mut buf = Vec::new();
    let root = document::read_root(&mut reader, &mut buf, &origin)?;
    if root != Root::ServiceResponse {
        return Err(Error::Unexpected {
            origin,
            offset: 0,
            problem: format!(
                "expected a ServiceResponse, got a <{}> document",
                root.name()
            ),
        });
    }
    let (head, _) = service_response::read_head(reader, buf, &origin)?;
    if !head.is_success() {
        // "Qualys may return a 200 even though the request was unauthorized."
        if let Some(last) = calls.last_mut() {
            last.outcome = Outcome::Failed;
        }
        return Err(qps::from_head(&answer.facts, head));
    }
    Ok(Visible {
        count: head.count.unwrap_or(0),
        more: false,
        of,
    })
}

/// One line of remedy for a probe's or the account check's failure.
pub(super) fn remedy(e: &Error) -> String {
    match e {
        Error::Account { problem, .. } => match problem {
            AccountProblem::BadLogin => "check the password, the user's API access checkbox (Users > edit the user > User Role > API) and that the platform URL is the user's platform".into(),
            AccountProblem::Expired => "ask your Qualys account manager to renew or extend the account".into(),
            AccountProblem::Inactive => "ask a Qualys Manager to activate the user".into(),
            AccountProblem::RegistrationIncomplete => "complete the user activation process: log in to the Qualys console with the new user's credentials, change the password and accept the terms".into(),
            AccountProblem::PermissionMissing(p) => format!("ask a Qualys Manager to give the user the \"{p}\" permission (Users > edit the user > Permissions)"),
            AccountProblem::ApiUnauthorized(p) => format!("check the user's API access, the {} module for the user, and the \"{p}\" permission", module(*p)),
            AccountProblem::SessionExpired | AccountProblem::SessionRejected => "check that --gateway-url is the API gateway of the user's platform and that no proxy rewrites the Authorization header".into(),
            other => other.remediation().lines().next().unwrap_or_default().to_string(),
        },
        Error::Throttled { kind: Throttle::Rate, wait, .. } => format!(
            "the API rate limit is used up in this window (other tools on the subscription count too): wait{} or stop the other tool",
            wait.map(|w| format!(" {} s", w.as_secs())).unwrap_or_default()
        ),
        Error::Throttled { kind: Throttle::Concurrency, .. } => "too many calls are running at once on this subscription: wait for the other tool's calls to finish".into(),
        Error::Html { remediation, .. } => remediation.clone(),
        Error::Http { .. } => "the connection checks passed but this request failed: retry, and check any proxy between you and Qualys".into(),
        Error::Server { .. } => "Qualys reported a server error: retry later; if it persists, contact Qualys support with the time".into(),
        _ => "see the problem above; if it persists, report it with this output".into(),
    }
}

fn module(p: Permission) -> &'static str {
    match p {
        Permission::ManageVm => "VM",
        Permission::ManagePc => "Policy Compliance",
        Permission::ManageWebApplications => "WAS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_of_the_registry_has_a_probe_row() {
        for s in crate::stream::registry::STREAMS {
            assert!(row(s.kind).is_some(), "no probe row for {}", s.name);
        }
    }

    #[test]
    fn both_was_streams_share_one_probe_by_value() {
        let shared: std::collections::HashSet<&Probe> =
            [StreamKind::WasAssets, StreamKind::WasFindings]
                .into_iter()
                .map(|s| &row(s).unwrap().probe)
                .collect();
        assert_eq!(shared.len(), 1, "one count/was/webapp call for both");
    }

    #[test]
    fn hosts_and_the_truncation_warning_are_counted_and_nothing_else() {
        let page = r#"<?xml version="1.0"?><HOST_LIST_OUTPUT><RESPONSE><DATETIME>x</DATETIME>
            <HOST_LIST><HOST><ID>1</ID><TAGS><TAG><NAME>HOST</NAME></TAG></TAGS></HOST></HOST_LIST>
            <WARNING><CODE>1980</CODE><URL>https://x/?id_min=2</URL></WARNING></RESPONSE></HOST_LIST_OUTPUT>"#;
        assert_eq!(count_hosts(page.as_bytes(), "t").unwrap(), (1, true));
        let empty =
            "<HOST_LIST_OUTPUT><RESPONSE><DATETIME>x</DATETIME></RESPONSE></HOST_LIST_OUTPUT>";
        assert_eq!(count_hosts(empty.as_bytes(), "t").unwrap(), (0, false));
    }

    /// The WAS probe, against wiremock until the simulator answers `count/was/webapp`.
    mod was_count {
        use wiremock::matchers::{header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        use super::*;

        fn prober() -> Prober {
            Prober::new(
                None,
                std::time::Duration::from_secs(5),
                true,
                "quays_nowas1",
                SecretString::from("pw"),
                1,
            )
            .unwrap()
        }

        async fn answering(body: &str) -> MockServer {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/qps/rest/3.0/count/was/webapp"))
                .and(header("content-type", "text/xml"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/xml"),
                )
                .mount(&server)
                .await;
            server
        }

        fn was_probe() -> &'static Probe {
            &row(StreamKind::WasAssets).unwrap().probe
        }

        #[tokio::test]
        async fn unauthorized_inside_a_200_names_api_access_the_was_module_and_the_permission() {
            let server = answering(
                "<ServiceResponse><responseCode>UNAUTHORIZED</responseCode><responseErrorDetails>\
                 <errorMessage>User does not have permission to access this API.</errorMessage>\
                 </responseErrorDetails></ServiceResponse>",
            )
            .await;
            let base = Url::parse(&server.uri()).unwrap();
            let outcome = was_probe().run(&prober(), &base).await;
            let e = outcome.result.unwrap_err();
            assert!(matches!(
                e,
                Error::Account {
                    problem: AccountProblem::ApiUnauthorized(Permission::ManageWebApplications),
                    ..
                }
            ));
            let line = remedy(&e);
            for words in [
                "API access",
                "WAS module",
                "\"Manage Web Applications\" permission",
            ] {
                assert!(line.contains(words), "{line}");
            }
            assert_eq!(outcome.calls.len(), 1);
            assert_eq!(outcome.calls[0].outcome, Outcome::Failed);
            assert_eq!(outcome.calls[0].http_status, Some(200));
            let sent = server.received_requests().await.unwrap();
            assert_eq!(sent.len(), 1);
            assert!(
                sent[0].headers["authorization"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic ")
            );
            assert_eq!(sent[0].body, b"<ServiceRequest></ServiceRequest>".to_vec());
        }

        #[tokio::test]
        async fn success_reports_the_count_of_web_applications() {
            let server = answering(
                "<ServiceResponse><responseCode>SUCCESS</responseCode><count>7</count></ServiceResponse>",
            )
            .await;
            let base = Url::parse(&server.uri()).unwrap();
            let outcome = was_probe().run(&prober(), &base).await;
            let seen = outcome.result.unwrap();
            assert_eq!(
                (seen.count, seen.more, seen.of),
                (7, false, "web applications")
            );
        }
    }
}
