#!/usr/bin/env bash
# The full test suite, as CI runs it: installs what the tests need (a Python venv with moto's
# server mode and cfn-lint) if missing, starts moto on a free loopback port, runs every Rust
# test against it, lints template.yaml, stops moto. Exits non-zero on any failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv="$root/.venv"

if ! "$venv/bin/python" -c 'import moto, flask, cfnlint' >/dev/null 2>&1; then
  echo "==> installing moto[server] and cfn-lint into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]>=5.1,<6" "cfn-lint>=1.20,<2"
fi

source "$root/infra/moto.sh"
start_moto "$venv"
trap stop_moto EXIT

echo "==> cargo test --workspace (AWS services: $DESKMATE_TEST_AWS_ENDPOINT)"
cargo test --workspace 2>&1 | tee "$root/target/cargo-test.log"

echo "==> cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml

# One closing line for the whole run (cargo's last line only counts the last crate's doc tests).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' \
  "$root/target/cargo-test.log"
