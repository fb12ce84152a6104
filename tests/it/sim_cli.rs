//! `qharness serve` and `qharness synth` end to end, as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_qharness");

/// Starts `qharness serve` with `args` and returns the child and the printed lines up to the
/// base URL.
fn start_serve(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("qharness starts");
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).expect("stdout readable") == 0 {
            break;
        }
        let done = line.starts_with("qharness simulator listening on ");
        lines.push(line.trim_end().to_string());
        if done && !args.contains(&"--tls")
            || lines.iter().any(|l| l.contains("certificate written"))
        {
            break;
        }
    }
    std::thread::spawn(move || for _ in out.lines() {});
    (child, lines)
}

fn interrupt(child: &mut std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("qharness exits");
    assert!(exit.success(), "Ctrl-C stops it cleanly: {exit:?}");
}

#[tokio::test]
async fn serve_prints_its_base_url_answers_and_stops_cleanly_on_ctrl_c() {
    let (mut child, lines) = start_serve(&[]);
    let url = lines
        .last()
        .expect("a line")
        .trim_start_matches("qharness simulator listening on ")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let r = client()
        .get(format!("{url}msp/about.php"))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .expect("the served simulator answers");
    assert_eq!(r.status(), 200);
    interrupt(&mut child);
}

#[tokio::test]
async fn serve_with_tls_writes_a_certificate_clients_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("sim-cert.pem");
    let (mut child, lines) = start_serve(&["--tls", "--cert-out", cert.to_str().unwrap()]);
    let url = lines[0]
        .trim_start_matches("qharness simulator listening on ")
        .to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{lines:?}");
    let pem = std::fs::read(&cert).expect("the certificate file exists");
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let r = c
        .get(format!("{url}msp/about.php"))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    interrupt(&mut child);
}

#[test]
fn serve_with_a_bad_tenant_file_says_which_file_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("bad.toml");
    std::fs::write(&t, "[[users]]\nlogin = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--tenant"])
        .arg(&t)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("password"),
        "{err}"
    );
}

#[test]
fn synth_writes_a_valid_page_of_the_requested_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("det.xml");
    let out = Command::new(BIN)
        .args([
            "synth",
            "--stream",
            "vmdr-vulnerabilities",
            "--hosts",
            "30",
            "--seed",
            "4",
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("30 hosts"));
    let xml = std::fs::read_to_string(&file).unwrap();
    let (hosts, warning) = read_hld(&xml);
    assert_eq!(hosts.len(), 30);
    assert!(warning.unwrap().contains("id_min="));
    assert_dtd_valid(
        xml.as_bytes(),
        "host_list_vm_detection_output.reconstructed.dtd",
        "qharness synth output",
    );
}

/// Waits up to `secs` for the child to exit.
fn wait_exit(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn serve_stops_cleanly_on_sigterm_like_on_ctrl_c() {
    let (mut child, lines) = start_serve(&[]);
    assert!(lines.last().is_some_and(|l| l.contains("listening on")));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = wait_exit(&mut child, 10);
    if exit.is_none() {
        let _ = child.kill();
    }
    let exit = exit.expect("qharness serve exits within 10 s of SIGTERM");
    assert!(
        exit.success(),
        "SIGTERM stops it the way Ctrl-C does: {exit:?}"
    );
}

#[tokio::test]
async fn accept_errors_back_off_instead_of_filling_the_log() {
    use tokio::io::AsyncWriteExt;
    // A file descriptor limit far below the connections opened: accept() fails with EMFILE
    // until clients go away.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 40 && exec \"$0\" serve --addr 127.0.0.1:0")
        .arg(BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts qharness");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("stdout readable");
    let url = line
        .trim()
        .trim_start_matches("qharness simulator listening on ")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut slow = Vec::new();
    for _ in 0..60 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /msp/about.php HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    drop(slow);
    let r = client()
        .get(format!("{url}msp/about.php"))
        .basic_auth(USER, Some(DEMO_PASSWORD))
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .expect("once the clients are gone the simulator accepts again");
    assert_eq!(r.status(), 200);
    interrupt(&mut child);
    let log = log.join().expect("the log reader ends");
    let accept_lines = log.iter().filter(|l| l.contains("accept")).count();
    assert!(
        (1..=10).contains(&accept_lines),
        "{accept_lines} accept lines in about 2 s of EMFILE (want a few, not a flood):\n{}",
        log.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn serve_stops_cleanly_even_when_its_stdout_was_closed() {
    // A supervisor that reads the URL line and closes the pipe.
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qharness starts");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("the URL line");
    drop(out);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let exit = wait_exit(&mut child, 10).expect("it exits within 10 s");
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr readable");
    assert!(exit.success(), "{exit:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
