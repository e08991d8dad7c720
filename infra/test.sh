#!/usr/bin/env bash
# The full test suite, as CI runs it: installs what the tests need (a Python venv with moto's
# server mode, cfn-lint and the SAM translator) if missing, starts moto on a free loopback port,
# runs every Rust test against it, lints template.yaml before and after the SAM transform, runs
# clippy and rustfmt, stops moto. Every step runs even when an earlier one failed; the closing
# line counts the tests, and the exit status is non-zero if any step failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv="$root/.venv"

if ! "$venv/bin/python" -c 'import moto, flask, cfnlint, samtranslator' >/dev/null 2>&1; then
  echo "==> installing moto[server], cfn-lint and aws-sam-translator into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]>=5.1,<6" "cfn-lint>=1.20,<2" "aws-sam-translator>=1.100,<2"
fi

source "$root/infra/moto.sh"
start_moto "$venv"
trap stop_moto EXIT

failed=()

echo "==> cargo test --workspace (AWS services: $DESKMATE_TEST_AWS_ENDPOINT)"
if ! cargo test --workspace 2>&1 | tee "$root/target/cargo-test.log"; then
  failed+=("cargo test")
fi

# cfn-lint does not run the SAM transform itself (it checks the Serverless resources against
# SAM's schemas), so rules on the generated resources — E3505, a queue's visibility timeout
# under its function's timeout — need the transformed template: template_check.py lints both.
echo "==> cfn-lint template.yaml, as written and after the SAM transform"
if ! "$venv/bin/python" infra/template_check.py template.yaml; then
  failed+=("cfn-lint")
fi

echo "==> cargo clippy --workspace --all-targets -- -D warnings"
if ! cargo clippy --workspace --all-targets -- -D warnings; then
  failed+=("clippy")
fi

echo "==> cargo fmt --all -- --check"
if ! cargo fmt --all -- --check; then
  failed+=("rustfmt")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
fi

# One closing line for the whole run (cargo's last line only counts the last crate's doc tests).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' \
  "$root/target/cargo-test.log"

[ ${#failed[@]} -eq 0 ]
