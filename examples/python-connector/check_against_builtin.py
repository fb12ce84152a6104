#!/usr/bin/env python3
"""Checks that the example Python connector writes the built-in one's records, byte for byte.

    python3 examples/python-connector/check_against_builtin.py target/debug/qharness

`qharness conform --connector "python3 .../connector.py"` judges the connector by the
scenarios: counts, keys, fields, errors, faults, requests. This script checks what the
scenarios leave open: for each setting combination, `qharness fetch` and connector.py run
against the same simulator (plain HTTP, and HTTPS trusting its CA) and their NDJSON outputs
must be equal record by record, field order included; and both must send the same requests
(paths and form parameters in order), as the simulator's journal shows. Its tenant adds what
the demo data lacks (a QID the KnowledgeBase does not know, no CVSS, non-ASCII text, escaped
RESULTS). Also two rules of the example itself: a record-changing setting it does not
implement, and a stream it does not cover, exit 2.

Standard library only. It starts its own simulators (`qharness serve` on 127.0.0.1) and stops
them at the end; prints one line per check and a diff for each mismatch; exits 1 on failure.
"""
import concurrent.futures
import json
import os
import queue
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CONNECTOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "connector.py")
PASSWORD = "demo"  # the simulator's demo password: a test fixture, not a secret
VULNS, ASSETS = "vmdr-vulnerabilities", "vmdr-assets"

# The demo tenant plus a host and a KnowledgeBase entry for what the demo data lacks: a QID the
# KnowledgeBase does not know, patchable 0 without CVSS or CVE, non-ASCII text, escaped RESULTS
# with line breaks and edge spaces, "]]>" inside CDATA, NETBIOS and network fields, an Info
# detection. Limits are lifted: truncation_limit = 1 alone pages through every host, and the
# cases run in parallel.
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

COMPARISONS = [  # (name, stream, settings): the same records from both connectors
    ("default", VULNS, {}),
    *[(f"status_{s}", VULNS, {"status": s}) for s in ("New", "Active", "Re-Opened", "Fixed")],
    ("status_list", VULNS, {"status": ["New", "Re-Opened"]}),
    ("tags_any", VULNS, {"tag_include": "Production", "tag_exclude": "Decommissioned"}),
    ("tags_include_all", VULNS, {"tag_include": "Production,Linux Servers",
                                 "tag_include_selector": "all", "tag_exclude": "DMZ"}),
    ("tags_exclude_all", VULNS, {"tag_include": "Production", "tag_exclude_selector": "all",
                                 "tag_exclude": "DMZ,Internet Facing"}),
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
                                 "tag_include_selector": "all", "tag_exclude": "DMZ"}),
    ("assets_truncation_7", ASSETS, {"truncation_limit": 7}),
]
TLS_COMPARISONS = [("tls_default", VULNS, {"truncation_limit": 100}),
                   ("tls_assets", ASSETS, {"truncation_limit": 100})]
SAME_REQUESTS = [
    ("default", VULNS, {}),
    ("truncation_7", VULNS, {"truncation_limit": 7}),
    ("filters", VULNS, {"status": "New,Fixed", "arf_kernel_filter": 2, "include_ignored": True,
                        "kb_batch_size": 3, "tag_include": "PCI & Card",
                        "tag_exclude": "Decommissioned"}),
    ("assets", ASSETS, {"truncation_limit": 50, "tag_include": "Production",
                        "tag_exclude": "DMZ"}),
]
def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # TOML strings and integers read like JSON


class Simulator:
    """`qharness serve` on a free loopback port; `journal()` is every request it received."""

    def __init__(self, qharness, workdir, name, tenant, tls=False):
        self.tenant = os.path.join(workdir, f"{name}-tenant.toml")
        with open(self.tenant, "w", encoding="utf-8") as f:
            f.write(tenant)
        self.ca_cert = os.path.join(workdir, f"{name}-ca.pem") if tls else None
        command = [qharness, "serve", "--addr", "127.0.0.1:0", "--tenant", self.tenant]
        command += ["--tls", "--cert-out", self.ca_cert] if tls else []
        self.log = open(os.path.join(workdir, f"{name}-serve.log"), "w+")
        # The admin API (the journal) needs a bearer token; given through the environment.
        self.admin_token = secrets.token_hex(16)
        env = dict(os.environ, QHARNESS_ADMIN_TOKEN=self.admin_token)
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True, env=env)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout],
                         daemon=True).start()
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            line = ""
        found = re.search(r"(https?://\S+?)/?$", line.strip())
        if not found:
            self.stop()
            self.log.seek(0)
            raise SystemExit(f"the simulator did not print its URL within 30s ({line!r}): "
                             f"{' '.join(command)}\n{self.log.read()}")
        self.url = found.group(1)
        context = ssl.create_default_context(cafile=self.ca_cert) if tls else None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPSHandler(context=context))

    def journal(self):
        request = urllib.request.Request(self.url + "/__sim/journal",
                                         headers={"Authorization": "Bearer " + self.admin_token})
        with self.opener.open(request, timeout=10) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]

    def requests_of(self, user, path_part=""):
        return [e for e in self.journal() if e.get("user") == user and path_part in e["path"]]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Run:
    """One connector run: exit code, stderr, records (None when no output file was published)."""

    def __init__(self, command, env, out):
        started = time.monotonic()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
            self.exit_code, self.stderr = done.returncode, done.stderr
        except subprocess.TimeoutExpired:
            self.exit_code, self.stderr = "timeout", "the run took longer than 60s"
        self.seconds = time.monotonic() - started
        self.records = None
        if os.path.exists(out):
            with open(out, encoding="utf-8") as f:
                self.records = [json.loads(line) for line in f]

    def count(self):
        return len(self.records or [])


def run_builtin(qharness, sim, workdir, name, stream, settings, user="quays_ab1"):
    config = os.path.join(workdir, f"{name}.builtin.toml")
    with open(config, "w", encoding="utf-8") as f:
        f.writelines(f"{k} = {toml_value(v)}\n" for k, v in settings.items())
    out = os.path.join(workdir, f"{name}.builtin.ndjson")
    command = [qharness, "fetch", "--stream", stream, "--platform-url", sim.url,
               "--username", user, "--config", config, "--out", out]
    command += ["--ca-cert", sim.ca_cert] if sim.ca_cert else []
    return Run(command, dict(os.environ, QUALYS_PASSWORD=PASSWORD), out)


def run_python(sim, workdir, name, stream, settings, user="quays_ab1", breaks=()):
    path = os.path.join(workdir, f"{name}.settings.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(settings, f)
    out = os.path.join(workdir, f"{name}.python.ndjson")
    env = dict(os.environ, QUALYS_PLATFORM_URL=sim.url, QUALYS_USERNAME=user,
               QUALYS_PASSWORD=PASSWORD, QHARNESS_STREAM=stream, QHARNESS_SETTINGS=path,
               QHARNESS_OUTPUT=out)
    env.pop("QHARNESS_CA_CERT", None)
    env.update({"QHARNESS_CA_CERT": sim.ca_cert} if sim.ca_cert else {})
    command = [sys.executable, CONNECTOR] + [a for b in breaks for a in ("--break", b)]
    return Run(command, env, out)


def record_diff(expected, actual):
    """Where two record lists part, in words a reader can act on; None when they are equal."""
    if expected is None or actual is None:
        return (f"built-in output {'missing' if expected is None else 'present'}, "
                f"python output {'missing' if actual is None else 'present'}")
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e == a and list(e) == list(a):
            continue
        keys = list(e) + [k for k in a if k not in e]
        fields = [f"{k}: built-in {e.get(k, '<absent>')!r} / python {a.get(k, '<absent>')!r}"
                  for k in keys if e.get(k, "<absent>") != a.get(k, "<absent>")]
        if not fields:
            fields = [f"field order: built-in {list(e)}", f"field order: python   {list(a)}"]
        return f"record {i} (host {e.get('host_id')}, qid {e.get('qid')}) differs:\n  " + \
            "\n  ".join(fields)
    if len(expected) != len(actual):
        return (f"built-in wrote {len(expected)} records, python {len(actual)}; the first "
                f"{min(len(expected), len(actual))} agree")
    return None


class Report:
    def __init__(self):
        self.failures = []

    def check(self, name, problem):
        print(f"{'FAIL' if problem else 'ok  '} {name}", flush=True)
        if problem:
            print("  " + problem.replace("\n", "\n  "), flush=True)
            self.failures.append(name)


def check_records(report, qharness, workdir, plain, tls):
    """Same records as the built-in per setting combination; returns the built-in's runs."""
    cases = [(plain, *c) for c in COMPARISONS] + [(tls, *c) for c in TLS_COMPARISONS]

    def compare(sim, name, stream, settings):
        builtin = run_builtin(qharness, sim, workdir, name, stream, settings)
        python = run_python(sim, workdir, name, stream, settings)
        if builtin.exit_code != 0 or python.exit_code != 0:
            return builtin, (f"exit codes: built-in {builtin.exit_code}, python "
                             f"{python.exit_code}\nbuilt-in stderr: {builtin.stderr.strip()}"
                             f"\npython stderr: {python.stderr.strip()}")
        problem = record_diff(builtin.records, python.records)
        return builtin, problem or (None if builtin.records else "no records: tests nothing")

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda case: compare(*case), cases))
    for (_, name, stream, _), (builtin, problem) in zip(cases, results):
        report.check(f"records equal: {name} ({stream}, {builtin.count()} records)", problem)
    return {name: builtin for (_, name, *_), (builtin, _) in zip(cases, results)}


def check_requests(report, qharness, workdir, sim):
    """The same requests from both; one run after the other so the journal separates them."""
    for name, stream, settings in SAME_REQUESTS:
        sent = []
        for which in ("builtin", "python"):
            before = len(sim.journal())
            if which == "builtin":
                run_builtin(qharness, sim, workdir, f"requests_{name}", stream, settings)
            else:
                run_python(sim, workdir, f"requests_{name}", stream, settings)
            entries = sim.journal()[before:]
            sent.append([(e["path"], e["params"]) for e in entries])
            if not all(dict(e["headers"]).get("X-Requested-With") for e in entries):
                sent[-1].append(f"{which}: a request without X-Requested-With")
        problem = None
        if sent[0] != sent[1]:
            padded = zip(sent[0] + [None], sent[1] + [None])
            first = next(i for i, (b, p) in enumerate(padded) if b != p)
            at = lambda requests: requests[first] if first < len(requests) else None
            problem = (f"request {first + 1} differs ({len(sent[0])} built-in, {len(sent[1])} "
                       f"python):\nbuilt-in {at(sent[0])}\npython   {at(sent[1])}")
        report.check(f"requests equal: {name} ({len(sent[1])} requests)", problem)


def check_own_rules(report, workdir, sim):
    """The example refuses what it does not implement rather than ignore it."""
    for name, stream, settings, word in [
            ("a record-changing setting it does not implement", VULNS, {"qids": "38170"}, "qids"),
            ("the pc-posture stream", "pc-posture", {}, "VMDR streams only")]:
        run = run_python(sim, workdir, name.replace(" ", "_"), stream, settings)
        problem = None
        if run.exit_code != 2 or word not in run.stderr or run.records is not None:
            problem = f"exit {run.exit_code}, expected 2 naming {word!r}\nstderr: {run.stderr}"
        report.check(f"{name} -> exit 2", problem)


def main(argv):
    if len(argv) != 1 or not os.access(argv[0], os.X_OK):
        raise SystemExit(f"usage: {sys.argv[0]} PATH/TO/qharness\n\n{__doc__}")
    qharness = os.path.abspath(argv[0])
    report, started = Report(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pyconn-check-") as workdir:
        sims = []
        try:
            plain = Simulator(qharness, workdir, "plain", TENANT)
            sims.append(plain)
            tls = Simulator(qharness, workdir, "tls", TENANT, tls=True)
            sims.append(tls)
            check_records(report, qharness, workdir, plain, tls)
            check_requests(report, qharness, workdir, plain)
            check_own_rules(report, workdir, plain)
        finally:
            for sim in sims:
                sim.stop()
    failed = report.failures
    print(f"\n{len(failed)} failure(s) in {time.monotonic() - started:.1f}s"
          + (": " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
