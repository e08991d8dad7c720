#!/usr/bin/env bash
# Starts and stops moto's server (local DynamoDB, SQS, Secrets Manager) for tests and local
# runs. Source it, then: start_moto VENV; ...; stop_moto.

start_moto() {
  local venv=$1
  local port
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$root/target"
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$root/target/moto.log" 2>&1 &
  MOTO_PID=$!
  export DESKMATE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  # Credentials and region for the SDK; moto accepts any.
  export AWS_ACCESS_KEY_ID=deskmate-test AWS_SECRET_ACCESS_KEY=deskmate-test AWS_REGION=us-east-1
  for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$DESKMATE_TEST_AWS_ENDPOINT/moto-api/')" >/dev/null 2>&1; then
      echo "==> moto is serving on $DESKMATE_TEST_AWS_ENDPOINT"
      return 0
    fi
    sleep 0.2
  done
  echo "moto did not start; its log:" >&2
  cat "$root/target/moto.log" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
}
