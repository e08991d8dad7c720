#!/usr/bin/env bash
# The benchmarks: installs and starts moto like infra/test.sh, then runs each benchmark and
# prints its table (see README, "Benchmarks").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv="$root/.venv"

if ! "$venv/bin/python" -c 'import moto, flask' >/dev/null 2>&1; then
  echo "==> installing moto[server] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]>=5.1,<6"
fi

source "$root/infra/moto.sh"
start_moto "$venv"
trap stop_moto EXIT

echo "==> conversations webhook: a 256 KiB payload of routable events"
cargo run --quiet -p deskmate-e2e-tests --example bench_conversations_webhook
