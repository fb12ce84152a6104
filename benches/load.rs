//! Load: many concurrent clients against one simulator (`qharness serve`, a child process, so
//! its memory is its own) over loopback, mixing Host List Detection pages, Host List pages,
//! KnowledgeBase batches and about.php. Counts the answers by kind and reads the simulator's
//! peak resident set (`VmHWM`) from /proc.
//!
//! Nothing but 2xx and 409 (the limits answering 1960 or 1965) is acceptable: the run fails
//! on any other status, on a transport error and on a 2xx whose document is not complete, so a
//! broken server cannot post a good result. This is a benchmark, not a timed test: it prints
//! what it measured and asserts only the outcomes.
//!
//! `cargo bench --bench load`; `QHARNESS_LOAD_CLIENTS` (default 256) concurrent clients, each
//! `QHARNESS_LOAD_ROUNDS` (default 40) requests; `QHARNESS_LOAD_CONCURRENCY` (default 16) is the
//! tenant's concurrency limit, so the clients beyond it get 1960.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_qharness");
const USER: &str = "quays_ab1";
const PASSWORD: &str = "demo";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one request came back as.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    rate_limited: u64,
    concurrency_limited: u64,
    /// Any other status, a 409 with another code, or a 2xx whose document is cut short.
    other: Vec<String>,
    transport_errors: Vec<String>,
    ok_latencies: Vec<Duration>,
    bytes: u64,
}

/// `qharness serve` on a free port, and its base URL.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn serve(tenant: &std::path::Path) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--tenant"])
        .arg(tenant)
        .stdout(Stdio::piped())
        .spawn()
        .expect("qharness serve starts (cargo builds it for benches)");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut line)
        .expect("qharness serve prints its URL");
    // Keep reading, so the server's last line finds a reader.
    std::thread::spawn(move || for _ in out.lines() {});
    let base = line
        .trim()
        .strip_prefix("qharness simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from qharness serve: {line:?}"))
        .to_string();
    Served { child, base }
}

/// A field of /proc/<pid>/status in KiB (`VmHWM`, `VmRSS`); `None` off Linux.
fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The request of `round` for `client`: a spread over the endpoints the connector uses.
fn request(client: usize, round: usize) -> (&'static str, Vec<(String, String)>) {
    let p = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect()
    };
    match (client + round) % 4 {
        0 => (
            "/api/2.0/fo/asset/host/vm/detection/",
            p(&[
                ("action", "list".into()),
                ("truncation_limit", "25".into()),
                ("show_tags", "1".into()),
                (
                    "id_min",
                    format!("{}", 100_000 + (client * 37 + round * 101) % 4_000),
                ),
            ]),
        ),
        1 => (
            "/api/2.0/fo/asset/host/",
            p(&[
                ("action", "list".into()),
                ("details", "All".into()),
                ("truncation_limit", "100".into()),
            ]),
        ),
        2 => (
            "/api/2.0/fo/knowledge_base/vuln/",
            // About 330 QIDs of the synthetic pool: a connector's batch.
            p(&[("action", "list".into()), ("ids", "10000-20000".into())]),
        ),
        _ => ("/msp/about.php", Vec::new()),
    }
}

/// Whether a 2xx body is a whole document of its kind.
fn complete(path: &str, body: &str) -> bool {
    if path.ends_with("about.php") {
        body.trim_end().ends_with("</ABOUT>")
    } else {
        // Every FO list document ends with Qualys's CONFIDENTIAL comment after the root.
        body.contains("</RESPONSE>") && body.trim_end().ends_with("Qualys, Inc. //-->")
    }
}

#[tokio::main]
async fn main() {
    let clients = env_or("QHARNESS_LOAD_CLIENTS", 256);
    let rounds = env_or("QHARNESS_LOAD_ROUNDS", 40);
    let concurrency = env_or("QHARNESS_LOAD_CONCURRENCY", 16);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tenant = dir.path().join("load.toml");
    // The demo tenant's 240 hosts plus 4,000 synthetic ones; a rate limit no run exhausts, the
    // concurrency limit the clients compete for.
    std::fs::write(
        &tenant,
        format!(
            "name = \"load\"\n[limits]\nrate_limit = 100000000\nconcurrency_limit = {concurrency}\n\
             [synthetic]\nhosts = 4000\ndetections_per_host = 10\nseed = 3\n"
        ),
    )
    .expect("the tenant file is written");
    let served = serve(&tenant);
    let pid = served.child.id();
    let idle_kib = proc_kib(pid, "VmRSS");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("a client builds");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let http = http.clone();
        let base = served.base.clone();
        let tally = Arc::clone(&tally);
        tasks.push(tokio::spawn(async move {
            for r in 0..rounds {
                let (path, params) = request(c, r);
                let url = format!("{}{}", base.trim_end_matches('/'), path);
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&params)
                    .finish();
                let t = Instant::now();
                let sent = http
                    .post(&url)
                    .basic_auth(USER, Some(PASSWORD))
                    .header("X-Requested-With", "qharness-load-bench")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                let outcome = match sent {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        resp.text().await.map(|b| (status, b))
                    }
                    Err(e) => Err(e),
                };
                let elapsed = t.elapsed();
                let mut tally = tally.lock().await;
                match outcome {
                    Err(e) => tally.transport_errors.push(format!("{path}: {e}")),
                    Ok((status, body)) => {
                        tally.bytes += body.len() as u64;
                        match status {
                            200..=299 if complete(path, &body) => {
                                tally.ok += 1;
                                tally.ok_latencies.push(elapsed);
                            }
                            200..=299 => tally
                                .other
                                .push(format!("{path}: {status} with an incomplete document")),
                            409 if body.contains("<CODE>1960</CODE>") => {
                                tally.concurrency_limited += 1
                            }
                            409 if body.contains("<CODE>1965</CODE>") => tally.rate_limited += 1,
                            _ => tally.other.push(format!(
                                "{path}: HTTP {status}: {}",
                                body.chars().take(200).collect::<String>()
                            )),
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client task ends without panicking");
    }
    let wall = started.elapsed();
    let peak_kib = proc_kib(pid, "VmHWM");
    let after_kib = proc_kib(pid, "VmRSS");
    drop(served);

    let mut tally = Arc::try_unwrap(tally)
        .expect("every client is done")
        .into_inner();
    tally.ok_latencies.sort();
    let pct = |q: f64| -> Duration {
        let l = &tally.ok_latencies;
        if l.is_empty() {
            return Duration::ZERO;
        }
        l[((l.len() - 1) as f64 * q).round() as usize]
    };
    let total = clients * rounds;
    let mib = |k: Option<u64>| {
        k.map_or("n/a".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "load: {clients} clients x {rounds} requests = {total} against one qharness serve (concurrency limit {concurrency})"
    );
    println!(
        "  wall time        {:.2} s ({:.0} requests/s, {:.1} MiB received)",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        tally.bytes as f64 / (1024.0 * 1024.0)
    );
    println!("  2xx              {}", tally.ok);
    println!("  409 CODE 1960    {}", tally.concurrency_limited);
    println!("  409 CODE 1965    {}", tally.rate_limited);
    println!("  other answers    {}", tally.other.len());
    println!("  transport errors {}", tally.transport_errors.len());
    println!(
        "  2xx latency      p50 {:?}, p99 {:?}, max {:?}",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "  simulator RSS    idle {}, after {}, peak {}",
        mib(idle_kib),
        mib(after_kib),
        mib(peak_kib)
    );

    assert!(
        tally.other.is_empty() && tally.transport_errors.is_empty(),
        "only 2xx and 409 are acceptable; got {} other answers and {} transport errors, e.g.:\n{}",
        tally.other.len(),
        tally.transport_errors.len(),
        tally
            .other
            .iter()
            .chain(&tally.transport_errors)
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        tally.ok + tally.concurrency_limited + tally.rate_limited,
        total as u64,
        "every request is counted once"
    );
    assert!(tally.ok > 0, "some requests must get through");
}
