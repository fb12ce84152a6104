#!/usr/bin/env python3
"""Checks the example Python connector against the built-in one, on the same simulator.

    python3 examples/python-connector/check_against_builtin.py target/debug/qharness

Standard library only. It starts its own simulators (`qharness serve`, 127.0.0.1, free ports)
and stops them at the end:

- records: for each setting combination it runs `qharness fetch` and connector.py against the
  same running simulator (plain HTTP, and HTTPS with the simulator's CA) and asserts that the two
  NDJSON outputs are equal record by record (parsed JSON, same order, same field order);
- error classes: account problems (exit 3), configuration problems (exit 2, no request sent),
  the same exit code as the built-in where both apply;
- faults injected by a tenant file, one user per fault so the call counts stay independent:
  waits and retries that end in success (same records as the built-in), exhausted retries
  (exit 4, no output file), malformed XML, redirects, a cursor that does not advance (exit 1);
- the deliberately broken variants (--break) are caught: ignoring pagination loses records,
  retrying CODE 2003 sends more than one request (counted in GET /__sim/journal).

Prints one line per check and a diff for each mismatch; exits 1 if anything failed.
"""
import concurrent.futures
import json
import os
import queue
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTOR = os.path.join(HERE, "connector.py")
PASSWORD = "demo"  # the simulator's demo password; a test fixture, not a secret

# The demo tenant plus a host and a KnowledgeBase entry for what the demo data lacks: a QID the
# KnowledgeBase does not know, patchable 0 without CVSS or CVE, non-ASCII text, escaped RESULTS
# with line breaks and edge spaces, a "]]>" inside CDATA, NETBIOS/network/serial fields, an
# Info detection. Limits are lifted: truncation_limit = 1 alone pages through every host, and
# the cases run in parallel.
TENANT = r"""base = "demo"
[limits]
rate_limit = 1000000
concurrency_limit = 100

[[knowledge_base]]
qid = 990001
severity = 2
title = "Example: not patchable, no CVSS, no CVE"
category = "Local"
published = "2024-01-01T00:00:00Z"
patchable = false

[[hosts]]
id = 99901
asset_id = 88001
ip = "198.51.100.7"
tracking_method = "NETBIOS"
network_id = 12
os = "Windows Server 2022 \u2014 Datacenter \u2713"
netbios = "WIN-\u00c9DGE"
qg_hostid = "qg-7f3a"
serial_number = "SN-0001"
fqdn = "win-edge.example.org"
tags = ["Z\u00fcrich B\u00fcro", "Production"]
last_scan = "2024-06-01T00:00:00Z"

[[hosts.detections]]
qid = 990001
type = "Potential"
status = "New"
port = 8443
protocol = "tcp"
ssl = true
results = "line 1\r\nline 2 <tag> & \"quoted\"\n  trailing spaces  "
results_style = "escaped"

[[hosts.detections]]
qid = 999999
status = "Active"
results = "a ]]> inside CDATA"

[[hosts.detections]]
qid = 45017
type = "Info"
"""

# One user per fault, so that `first = 1` means the first call of that case and nothing else.
FAULTS = {
    "rate_limit_then_success": 'kind = "rate_limited"\nseconds_to_wait = 1\nroute = "detection"\nfirst = 1',
    "kb_rate_limit_then_success": 'kind = "rate_limited"\nseconds_to_wait = 1\nroute = "knowledge_base"\nfirst = 1',
    "concurrency_then_success": 'kind = "concurrency_busy"\nroute = "detection"\nfirst = 2',
    "server_error_then_success": 'kind = "server_error"\nroute = "detection"\nfirst = 1',
    "truncated_then_success": 'kind = "truncate"\nroute = "detection"\nfirst = 1',
    "disconnect_then_success": 'kind = "disconnect_after"\nbytes = 20000\nroute = "detection"\nfirst = 1',
    "slow_then_success": 'kind = "delay"\nms = 2500\nroute = "detection"\nfirst = 1',
    "invalid_chars": 'kind = "invalid_xml_chars"\nroute = "detection"',
    "server_error_always": 'kind = "server_error"\nroute = "detection"',
    "generic_999_always": 'kind = "generic_return_999"\nroute = "detection"',
    "html_proxy_always": 'kind = "html_error"\nroute = "detection"',
    "truncated_always": 'kind = "truncate"\nroute = "detection"',
    "rate_limit_too_long": 'kind = "rate_limited"\nseconds_to_wait = 3600\nroute = "detection"',
    "malformed_xml": 'kind = "malformed_xml"\nroute = "detection"',
    "moved_permanently": 'kind = "moved_permanently"\nroute = "detection"',
    "cursor_stuck": 'kind = "cursor_stuck"\nroute = "detection"\ncalls = "2.."',
}
FAULT_USER = {name: f"quays_f{i}" for i, name in enumerate(FAULTS, 1)}
FAST = {"backoff_initial_ms": 10, "max_attempts": 3}  # exhausted retries end in milliseconds


def fault_tenant():
    text = TENANT
    for name, fault in FAULTS.items():
        user = FAULT_USER[name]
        text += f'\n[[users]]\nlogin = "{user}"\npassword = "{PASSWORD}"\n'
        text += f'\n[[faults]]\n{fault}\nuser = "{user}"\n'
    return text


class Simulator:
    """`qharness serve` on a free loopback port; `journal()` is what it received."""

    def __init__(self, qharness, workdir, name, tenant, tls=False):
        self.tenant = os.path.join(workdir, f"{name}-tenant.toml")
        with open(self.tenant, "w") as f:
            f.write(tenant)
        self.ca_cert = os.path.join(workdir, f"{name}-ca.pem") if tls else None
        command = [qharness, "serve", "--addr", "127.0.0.1:0", "--tenant", self.tenant]
        if tls:
            command += ["--tls", "--cert-out", self.ca_cert]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.process.stdout],
                         daemon=True).start()
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            self.stop()
            raise SystemExit(f"the simulator did not print its URL within 30s: {command}")
        found = re.search(r"(https?://\S+?)/?$", line.strip())
        if not found:
            self.stop()
            raise SystemExit(f"the simulator printed {line!r}, not its URL; stderr: "
                             f"{self.process.stderr.read()}")
        self.url = found.group(1)

    def journal(self):
        context = ssl.create_default_context(cafile=self.ca_cert) if self.ca_cert else None
        with urllib.request.urlopen(self.url + "/__sim/journal", context=context) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]

    def requests_of(self, user):
        return [e for e in self.journal() if e.get("user") == user]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Run:
    """One connector run: exit code, stderr, records (None when no output file was published)."""

    def __init__(self, exit_code, stderr, records, seconds):
        self.exit_code, self.stderr, self.records, self.seconds = exit_code, stderr, records, seconds


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # TOML basic strings and integers read like JSON ones


def execute(command, env, out):
    started = time.monotonic()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        code, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        code, stderr = "timeout", "the run took longer than 60s"
    records = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
    return Run(code, stderr, records, time.monotonic() - started)


def run_builtin(qharness, sim, workdir, name, stream, settings, user="quays_ab1"):
    config, out = os.path.join(workdir, f"{name}.builtin.toml"), os.path.join(workdir, f"{name}.builtin.ndjson")
    with open(config, "w") as f:
        f.writelines(f"{k} = {toml_value(v)}\n" for k, v in settings.items())
    command = [qharness, "fetch", "--stream", stream, "--platform-url", sim.url,
               "--username", user, "--config", config, "--out", out]
    if sim.ca_cert:
        command += ["--ca-cert", sim.ca_cert]
    return execute(command, dict(os.environ, QUALYS_PASSWORD=PASSWORD), out)


def run_python(sim, workdir, name, stream, settings, user="quays_ab1", breaks=()):
    path, out = os.path.join(workdir, f"{name}.settings.json"), os.path.join(workdir, f"{name}.python.ndjson")
    with open(path, "w") as f:
        json.dump(settings, f)
    env = dict(os.environ, QUALYS_PLATFORM_URL=sim.url, QUALYS_USERNAME=user,
               QUALYS_PASSWORD=PASSWORD, QHARNESS_STREAM=stream, QHARNESS_SETTINGS=path,
               QHARNESS_OUTPUT=out)
    env.pop("QHARNESS_CA_CERT", None)
    if sim.ca_cert:
        env["QHARNESS_CA_CERT"] = sim.ca_cert
    command = [sys.executable, CONNECTOR] + [a for b in breaks for a in ("--break", b)]
    return execute(command, env, out)


def diff(expected, actual):
    """Where two record lists part, in words a reader can act on; None when equal."""
    if expected == actual:
        return None
    if expected is None or actual is None:
        return f"built-in output {'missing' if expected is None else 'present'}, " \
               f"python output {'missing' if actual is None else 'present'}"
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e != a or list(e) != list(a):
            fields = {k: (e.get(k, "<absent>"), a.get(k, "<absent>"))
                      for k in list(e) + [k for k in a if k not in e] if e.get(k, 0) != a.get(k, 0)}
            if not fields:
                return f"record {i}: field order differs:\n  built-in {list(e)}\n  python   {list(a)}"
            lines = "\n".join(f"  {k}: built-in {v[0]!r} / python {v[1]!r}" for k, v in fields.items())
            return f"record {i} (host {e.get('host_id')}, qid {e.get('qid')}) differs:\n{lines}"
    return f"built-in wrote {len(expected)} records, python {len(actual)}; the first " \
           f"{min(len(expected), len(actual))} agree"


class Report:
    def __init__(self):
        self.failures = []

    def check(self, name, problem):
        print(f"{'FAIL' if problem else 'ok  '} {name}" + (f"\n{problem}" if problem else ""),
              flush=True)
        if problem:
            self.failures.append(name)


def expect_exit(run, code, *words, records=None):
    """None when the run exited `code`, its stderr has every word and (when given) records."""
    problems = []
    if run.exit_code != code:
        problems.append(f"exit {run.exit_code}, expected {code}")
    problems += [f"stderr lacks {w!r}" for w in words if w.lower() not in run.stderr.lower()]
    if records == "none" and run.records is not None:
        problems.append("an output file was published by a failed run")
    if PASSWORD in re.findall(r"\w+", run.stderr):
        problems.append("the password appears in stderr")
    return ("  " + "; ".join(problems) + f"\n  stderr: {run.stderr.strip()}") if problems else None


VULNS, ASSETS = "vmdr-vulnerabilities", "vmdr-assets"
COMPARISONS = [
    ("default", VULNS, {}),
    *[(f"status_{s}", VULNS, {"status": s}) for s in ("New", "Active", "Re-Opened", "Fixed")],
    ("status_list", VULNS, {"status": ["New", "Re-Opened"]}),
    ("tags_any", VULNS, {"tag_include": "Production", "tag_exclude": "Decommissioned"}),
    ("tags_include_all", VULNS, {"tag_include": "Production,Linux Servers",
                                 "tag_include_selector": "all", "tag_exclude": "DMZ"}),
    ("tags_exclude_all", VULNS, {"tag_include": "Production", "tag_exclude": "DMZ,Internet Facing",
                                 "tag_exclude_selector": "all"}),
    ("tags_ampersands", VULNS, {"tag_include": "PCI & Card, Finance & HR",
                                "tag_exclude": "Decommissioned"}),
    *[(f"arf_{n}", VULNS, {"arf_kernel_filter": n}) for n in range(4)],
    ("include_ignored", VULNS, {"include_ignored": True}),
    ("include_disabled", VULNS, {"include_disabled": True}),
    ("include_both", VULNS, {"include_ignored": True, "include_disabled": True}),
    ("truncation_1", VULNS, {"truncation_limit": 1}),
    ("truncation_7", VULNS, {"truncation_limit": 7}),
    ("no_knowledge_base", VULNS, {"knowledge_base": False}),
    ("kb_batch_5", VULNS, {"kb_batch_size": 5, "truncation_limit": 50}),
    ("assets_default", ASSETS, {}),
    ("assets_tags", ASSETS, {"tag_include": "Production", "tag_exclude": "Decommissioned"}),
    ("assets_tags_all", ASSETS, {"tag_include": "Production,Linux Servers",
                                 "tag_exclude": "DMZ", "tag_include_selector": "all"}),
    ("assets_truncation_7", ASSETS, {"truncation_limit": 7}),
]
TLS_COMPARISONS = [("tls_default", VULNS, {"truncation_limit": 100}),
                   ("tls_assets", ASSETS, {"truncation_limit": 100})]


def compare(qharness, sim, workdir, name, stream, settings):
    builtin = run_builtin(qharness, sim, workdir, name, stream, settings)
    python = run_python(sim, workdir, name, stream, settings)
    if builtin.exit_code != 0 or python.exit_code != 0:
        return builtin, (f"  exit codes: built-in {builtin.exit_code}, python {python.exit_code}\n"
                         f"  built-in stderr: {builtin.stderr.strip()}\n"
                         f"  python stderr: {python.stderr.strip()}")
    problem = diff(builtin.records, python.records)
    if not problem and not builtin.records:
        problem = "  both wrote no records: the case tests nothing"
    return builtin, problem and "  " + problem.replace("\n", "\n  ")


def main(argv):
    if len(argv) != 1:
        raise SystemExit(__doc__)
    qharness = os.path.abspath(argv[0])
    report, started = Report(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pyconn-check-") as workdir:
        sims = []
        try:
            plain = Simulator(qharness, workdir, "plain", TENANT)
            sims.append(plain)
            tls = Simulator(qharness, workdir, "tls", TENANT, tls=True)
            sims.append(tls)
            faults = Simulator(qharness, workdir, "faults", fault_tenant())
            sims.append(faults)
            builtin = check_records(report, qharness, workdir, plain, tls)
            check_errors(report, qharness, workdir, plain)
            check_requests(report, qharness, workdir, faults)
            check_faults(report, workdir, faults, builtin)
            check_breaks(report, qharness, workdir, plain)
        finally:
            for sim in sims:
                sim.stop()
    print(f"\n{len(report.failures)} failure(s) in {time.monotonic() - started:.1f}s"
          + (": " + ", ".join(report.failures) if report.failures else ""))
    return 1 if report.failures else 0


def check_records(report, qharness, workdir, plain, tls):
    """Same records as the built-in, per setting combination. Returns the built-in's records."""
    cases = [(plain, *c) for c in COMPARISONS] + [(tls, *c) for c in TLS_COMPARISONS]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(compare, qharness, sim, workdir, name, stream, settings)
                   for sim, name, stream, settings in cases]
        results = {}
        for (sim, name, stream, settings), future in zip(cases, futures):
            builtin, problem = future.result()
            results[name] = builtin.records
            count = len(builtin.records or [])
            report.check(f"records equal: {name} ({stream}, {count} records)", problem)
    return results


def check_errors(report, qharness, workdir, plain):
    """Account and configuration problems: the exit code, the message, and (for configuration)
    that nothing was sent. Where the built-in applies, it must agree."""
    for user, code, words in (("quays_na1", 3, ["activation", "log in to the Qualys console"]),
                              ("quays_noapi1", 3, ["API access"]), ("quays_ex1", 3, ["expired"]),
                              ("quays_novm1", 3, ["Manage VM module"])):
        python = run_python(plain, workdir, f"user_{user}", VULNS, {}, user=user)
        builtin = run_builtin(qharness, plain, workdir, f"user_{user}", VULNS, {}, user=user)
        problem = expect_exit(python, code, *words, records="none")
        if builtin.exit_code != python.exit_code:
            problem = (problem or "") + f"\n  built-in exits {builtin.exit_code}"
        report.check(f"{user} -> exit {code}", problem)
    for name, stream, settings, words in (
            ("include_without_exclude", VULNS, {"tag_include": "Production"},
             ["tag_exclude", "each require the other"]),
            ("exclude_without_include", ASSETS, {"tag_exclude": "DMZ"},
             ["tag_include", "each require the other"]),
            ("bad_status", VULNS, {"status": "New,Open"}, ["Open", "New, Active, Re-Opened, Fixed"]),
            ("arf_out_of_range", VULNS, {"arf_kernel_filter": 4}, ["arf_kernel_filter", "out of range"]),
            ("arf_on_assets", ASSETS, {"arf_kernel_filter": 1}, ["only applies to the vmdr-vulnerabilities"]),
            ("status_on_assets", ASSETS, {"status": "New"}, ["only applies"]),
            ("include_ignored_on_assets", ASSETS, {"include_ignored": True}, ["only applies"]),
            ("bad_selector", VULNS, {"tag_include": "Production", "tag_exclude": "DMZ",
                                     "tag_include_selector": "most"}, ["any, all"]),
            ("empty_tag_name", VULNS, {"tag_include": "Production,,DMZ", "tag_exclude": "X"}, ["tag list"])):
        before = len(plain.journal())
        python = run_python(plain, workdir, f"config_{name}", stream, settings)
        builtin = run_builtin(qharness, plain, workdir, f"config_{name}", stream, settings)
        problem = expect_exit(python, 2, *words, records="none")
        if builtin.exit_code != 2:
            problem = (problem or "") + f"\n  built-in exits {builtin.exit_code}"
        if len(plain.journal()) != before:
            problem = (problem or "") + "\n  a request was sent despite the configuration problem"
        report.check(f"config: {name} -> exit 2", problem)
    python = run_python(plain, workdir, "unimplemented_setting", VULNS, {"qids": "38170"})
    report.check("config: an unimplemented record-changing setting -> exit 2",
                 expect_exit(python, 2, "qids", records="none"))
    python = run_python(plain, workdir, "other_stream", "pc-posture", {})
    report.check("config: pc-posture stream -> exit 2", expect_exit(python, 2, "VMDR streams only"))


def check_requests(report, qharness, workdir, sim):
    """Both connectors send the same requests: paths, form parameters in order, and the
    mandatory X-Requested-With header. Run one after the other so the journal separates them."""
    for name, stream, settings in (("default", VULNS, {}), ("truncation_7", VULNS, {"truncation_limit": 7}),
                                   ("filters", VULNS, {"status": "New,Fixed", "arf_kernel_filter": 2,
                                                       "include_ignored": True, "kb_batch_size": 3,
                                                       "tag_include": "PCI & Card",
                                                       "tag_exclude": "Decommissioned"}),
                                   ("assets", ASSETS, {"truncation_limit": 50, "tag_include": "Production",
                                                       "tag_exclude": "DMZ"})):
        sent = []
        for run in (run_builtin, run_python):
            before = len(sim.journal())
            args = (qharness, sim) if run is run_builtin else (sim,)
            run(*args, workdir, f"requests_{name}", stream, settings)
            sent.append([(e["path"], e["params"]) for e in sim.journal()[before:]])
            if any(not dict(e["headers"]).get("X-Requested-With") for e in sim.journal()[before:]):
                sent[-1].append("a request without X-Requested-With")
        problem = None
        if sent[0] != sent[1]:
            first = next(i for i, (b, p) in enumerate(zip(sent[0] + [None], sent[1] + [None])) if b != p)
            problem = (f"  request {first + 1} differs ({len(sent[0])} built-in, {len(sent[1])} python):"
                       f"\n  built-in {sent[0][first] if first < len(sent[0]) else None}"
                       f"\n  python   {sent[1][first] if first < len(sent[1]) else None}")
        report.check(f"requests equal: {name} ({len(sent[1])} requests)", problem)


def check_faults(report, workdir, faults, builtin):
    """Injected faults: retried to the same records, or failing with the right class."""
    default = builtin["default"]
    for name, settings, seconds in (("rate_limit_then_success", {}, 1),
                                    ("kb_rate_limit_then_success", {}, 1),
                                    ("concurrency_then_success", FAST, 0),
                                    ("server_error_then_success", FAST, 0),
                                    ("truncated_then_success", FAST, 0),
                                    ("disconnect_then_success", FAST, 0),
                                    ("slow_then_success", dict(FAST, read_timeout_secs=1), 0)):
        run = run_python(faults, workdir, name, VULNS, settings, user=FAULT_USER[name])
        problem = expect_exit(run, 0) or diff(default, run.records)
        if not problem and run.seconds < seconds:
            problem = f"  finished in {run.seconds:.2f}s: did not wait the {seconds}s Qualys asked"
        if not problem and "retrying" not in run.stderr:
            problem = "  no retry was reported on stderr"
        report.check(f"fault: {name} -> success, same records", problem)
    run = run_python(faults, workdir, "invalid_chars", VULNS, {}, user=FAULT_USER["invalid_chars"])
    problem = expect_exit(run, 0, "U+FFFD")
    if not problem and not any("\ufffd" in (r["results"] or "") for r in run.records):
        problem = "  no RESULTS carries U+FFFD"
    report.check("fault: invalid_chars -> replaced by U+FFFD, not fatal", problem)
    for name, settings, code, words, calls in (
            ("server_error_always", FAST, 4, ["3 attempts"], 3),
            ("generic_999_always", FAST, 4, ["999", "3 attempts"], 3),
            ("html_proxy_always", FAST, 4, ["HTML page"], 3),
            ("truncated_always", FAST, 4, ["truncated"], 3),
            ("rate_limit_too_long", {"max_wait_secs": 5}, 4, ["rate limit", "1965"], 1),
            ("malformed_xml", FAST, 1, ["invalid XML", "page 1"], 1),
            ("moved_permanently", FAST, 1, ["HTML page", "does not follow redirects"], 1),
            ("cursor_stuck", dict(FAST, truncation_limit=50), 1, ["does not advance"], 2)):
        run = run_python(faults, workdir, name, VULNS, settings, user=FAULT_USER[name])
        problem = expect_exit(run, code, *words, records="none")
        sent = len([e for e in faults.requests_of(FAULT_USER[name]) if "detection" in e["path"]])
        if sent != calls:
            problem = (problem or "") + f"\n  {sent} detection request(s), expected {calls}"
        report.check(f"fault: {name} -> exit {code}, {calls} request(s), no output", problem)


def check_breaks(report, qharness, workdir, plain):
    """The deliberately broken variants differ from the built-in in ways a suite can see."""
    settings = {"truncation_limit": 7}
    builtin = run_builtin(qharness, plain, workdir, "break_pagination", VULNS, settings)
    broken = run_python(plain, workdir, "break_pagination", VULNS, settings,
                        breaks=["ignore-pagination"])
    count = lambda run: len(run.records or [])
    problem = expect_exit(broken, 0)
    if not problem and not count(broken) < count(builtin):
        problem = f"  {count(broken)} records, the built-in {count(builtin)}: nothing was lost"
    report.check(f"--break ignore-pagination loses records ({count(broken)} of "
                 f"{count(builtin)})", problem)
    before = len(plain.requests_of("quays_na1"))
    run_python(plain, workdir, "no_break_2003", VULNS, {}, user="quays_na1")
    honest = len(plain.requests_of("quays_na1")) - before
    broken = run_python(plain, workdir, "break_2003", VULNS, FAST, user="quays_na1",
                        breaks=["retry-2003"])
    retried = len(plain.requests_of("quays_na1")) - before - honest
    problem = None if honest == 1 and retried > 1 else \
        f"  requests for quays_na1: {honest} without the break (expected 1), {retried} with it"
    report.check(f"--break retry-2003 retries ({retried} requests; exit {broken.exit_code})",
                 problem)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
