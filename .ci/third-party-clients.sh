#!/usr/bin/env bash
# Proves the simulator is faithful enough for an independent Qualys client, unchanged: starts
# `qharness serve --tls` with a tenant that adds a rate-limited user, installs qualysapi from
# PyPI into a throwaway virtualenv, and runs .ci/qualysapi_check.py against it.
# Needs python3 with venv and pip (present on the project's machines) and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/tenant.toml" <<'TOML'
# The demo tenant plus a CI user whose rate limit is tiny, to exercise the client's 1965 wait.
[[users]]
login = "quays_ci1"
password = "demo"
limits = { rate_limit = 2, rate_window_secs = 3 }
TOML

cargo build --release --quiet
./target/release/qharness serve --addr 127.0.0.1:0 --tls --cert-out "$work/cert.pem" \
    --tenant "$work/tenant.toml" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 50); do
    grep -q "listening on" "$work/serve.log" && break
    sleep 0.1
done
base=$(grep -o 'https://127.0.0.1:[0-9]*' "$work/serve.log" | sed -n 1p)
[ -n "$base" ] || { echo "the simulator did not start:"; cat "$work/serve.log"; exit 1; }

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "qualysapi==8.1.0"
REQUESTS_CA_BUNDLE="$work/cert.pem" "$work/venv/bin/python" .ci/qualysapi_check.py "${base#https://}"
