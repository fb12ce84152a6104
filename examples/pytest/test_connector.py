"""Example tests: a simulator loaded with a tenant, a fault added, the function under test run
(here the example Python connector's `main`), and assertions on what the simulator received."""
import importlib.util
import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "connector", HERE.parent / "python-connector" / "connector.py")
connector = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(connector)


@pytest.fixture
def tenant(sim):
    sim.load_tenant((HERE / "tenant.toml").read_text())
    return sim


def run_connector(sim, tmp_path, monkeypatch, stream="vmdr-vulnerabilities", **settings):
    """The function under test: one connector run against the simulator."""
    (tmp_path / "settings.json").write_text(json.dumps(dict(backoff_initial_ms=10, **settings)))
    out = tmp_path / "records.ndjson"
    for name, value in {"QUALYS_PLATFORM_URL": sim.base_url, "QUALYS_USERNAME": "quays_ci1",
                        "QUALYS_PASSWORD": "ci-only", "QHARNESS_STREAM": stream,
                        "QHARNESS_SETTINGS": str(tmp_path / "settings.json"),
                        "QHARNESS_OUTPUT": str(out)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QHARNESS_CA_CERT", raising=False)
    code = connector.main([])
    records = [json.loads(l) for l in out.read_text().splitlines()] if out.exists() else None
    return code, records


def test_a_rate_limit_is_waited_out_and_every_record_arrives(tenant, tmp_path, monkeypatch):
    tenant.add_faults({"kind": "rate_limited", "seconds_to_wait": 1, "route": "detection",
                       "first": 1})
    code, records = run_connector(tenant, tmp_path, monkeypatch, status="New,Active")
    assert code == 0
    assert sorted(r["host_id"] for r in records) == [101, 102]
    assert all(r["title"].startswith("SSL Certificate") for r in records)
    calls = tenant.journal(endpoint="detection")
    assert [c["status"] for c in calls] == [409, 200]
    assert all(dict(c["headers"]).get("X-Requested-With") for c in calls)
    assert dict(calls[1]["params"])["status"] == "New,Active"


def test_a_server_that_keeps_failing_ends_in_exit_4_and_no_output(tenant, tmp_path, monkeypatch):
    tenant.add_faults({"kind": "server_error", "status": 503, "route": "detection"})
    code, records = run_connector(tenant, tmp_path, monkeypatch, max_attempts=2)
    assert (code, records) == (4, None)
    assert [c["status"] for c in tenant.journal(endpoint="detection")] == [503, 503]
    assert tenant.journal(endpoint="knowledge_base") == []


def test_each_test_starts_from_the_start_state(sim):
    assert sim.journal() == []
    assert sim.admin("GET", "/__sim/health")["faults"] == 0
