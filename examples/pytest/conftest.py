"""pytest fixtures that run one `qharness serve` for the whole session and drive it through its
admin API: load a tenant, add faults, read the journal, reset between tests.

The binary is $QHARNESS_BIN, else target/release/qharness or target/debug/qharness of this
repository, else `qharness` on the PATH. Standard library plus pytest.
"""
import json
import os
import secrets
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def qharness_binary():
    for candidate in (os.environ.get("QHARNESS_BIN"), REPO / "target/release/qharness",
                      REPO / "target/debug/qharness", shutil.which("qharness")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.exit("no qharness binary: build it (cargo build) or set QHARNESS_BIN", returncode=2)


class Simulator:
    """A running `qharness serve`: its base URL, and its admin API as methods."""

    def __init__(self, base_url, token):
        self.base_url, self._token = base_url.rstrip("/"), token

    def admin(self, method, path, document=None, content_type="application/toml"):
        """Calls an admin route; returns the decoded JSON answer (text for NDJSON)."""
        body = document.encode() if isinstance(document, str) else \
            json.dumps(document).encode() if document is not None else None
        if document is not None and not isinstance(document, str):
            content_type = "application/json"
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: HTTP {e.code}: {e.read().decode()}") from None
        return text if path.startswith("/__sim/journal") else json.loads(text)

    def load_tenant(self, toml_text):
        return self.admin("PUT", "/__sim/tenant", toml_text)

    def add_faults(self, *faults):
        return self.admin("POST", "/__sim/faults", {"faults": list(faults)})

    def reset(self):
        return self.admin("POST", "/__sim/reset")

    def journal(self, endpoint=None, since=0):
        query = f"?since={since}" + (f"&endpoint={endpoint}" if endpoint else "")
        return [json.loads(line) for line in self.admin("GET", "/__sim/journal" + query).splitlines()]


@pytest.fixture(scope="session")
def qharness_sim():
    """One simulator for the session, on a free loopback port."""
    token = secrets.token_hex(16)  # handed over in the environment, never on a command line
    process = subprocess.Popen(
        [qharness_binary(), "serve", "--addr", "127.0.0.1:0"],
        env=dict(os.environ, QHARNESS_ADMIN_TOKEN=token),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = {}
    reader = threading.Thread(target=lambda: first.setdefault("line", process.stdout.readline()))
    reader.start()
    reader.join(30)
    line = first.get("line", "")
    if "listening on" not in line:
        process.kill()
        pytest.exit(f"qharness serve did not start: {line!r}", returncode=2)
    # Keep draining its output so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    sim = Simulator(line.split("listening on", 1)[1].strip(), token)
    assert sim.admin("GET", "/__sim/health")["status"] == "ready"
    yield sim
    process.terminate()
    process.wait(10)


@pytest.fixture
def sim(qharness_sim):
    """The session's simulator, back to its start state before each test."""
    qharness_sim.reset()
    return qharness_sim
