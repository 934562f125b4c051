#!/usr/bin/env bash
# npm run fuzz: Schemathesis (pinned below) against the service's own /openapi.json, as an admin, with every
# check, for a bounded time; exits non-zero on any failure. The service is started here (`npm start` on a
# temporary data folder) inside a network namespace of its own that has only loopback, so that nothing the
# fuzzer registers (custom provider URLs, callback URLs) can make the service reach any other host; it
# seeds a configured integration, a pending connection and a dependent, then stops everything it started.
# Needs root (for the namespace), python3 with venv, and the Go-built tools (`npm run tools`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION=4.32.5
FUZZ_SECONDS=${FUZZ_SECONDS:-240}
FUZZ_MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-40}
venv=.tools/schemathesis-$SCHEMATHESIS_VERSION

if [[ ${1:-} != --inside ]]; then
  if [[ ! -x $venv/bin/st ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
      { rm -rf "$venv"; exit 1; }
  fi
  if [[ $(id -u) -ne 0 ]] || ! command -v unshare >/dev/null; then
    echo "fuzz: needs root and unshare, to run the service in a network namespace with loopback only" >&2
    exit 1
  fi
  exec unshare --net bash "${BASH_SOURCE[0]}" --inside
fi

# From here on: inside the new network namespace. Loopback only; every port is free.
ip link set lo up
data=$(mktemp -d)
report=${FUZZ_REPORT_DIR:-$data/report}
service_pid=
cleanup() {
  if [[ -n $service_pid ]] && kill -0 "$service_pid" 2>/dev/null; then
    kill -INT "$service_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$service_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$service_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

export DATA_DIR=$data/service PORT=3000 LOG_LEVEL=warn
# Conformance, not limits, is fuzzed (the tests cover the limits): limits this high let every operation through.
for limit in CONNECT CALLBACK REFRESH CHANGE PROXY; do export "RATE_LIMIT_${limit}_PER_MINUTE=1000000"; done
api=http://127.0.0.1:$PORT
node --import tsx scripts/start.ts >"$data/service.log" 2>&1 &
service_pid=$!

# http METHOD PATH [BODY]: the answer's body; fails on any status but 2xx.
http() {
  node -e '
    const [method, url, token, body] = process.argv.slice(1);
    fetch(url, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
      body: body || undefined,
    }).then(async (response) => {
      const text = await response.text();
      if (!response.ok) { console.error(`${method} ${url}: ${response.status} ${text}`); process.exit(1); }
      console.log(text);
    }, () => process.exit(1));' "$1" "$api$2" "${token:-}" "${3:-}"
}

token=
for _ in $(seq 1 180); do
  if http GET /readyz >/dev/null 2>&1; then break; fi
  if ! kill -0 "$service_pid" 2>/dev/null; then
    echo "fuzz: the service stopped while starting:" >&2
    tail -50 "$data/service.log" >&2
    exit 1
  fi
  sleep 1
done
http GET /readyz >/dev/null || { echo "fuzz: the service did not become ready" >&2; exit 1; }

token=$(node --import tsx scripts/token.ts --role admin --sub fuzz-admin --expires 1h)
export FUZZ_ADMIN_TOKEN=$token
# The codec server takes an operator's token, never a workspace's (scripts/schemathesis.toml sends it there).
FUZZ_OPERATOR_TOKEN=$(node --import tsx scripts/token.ts --operator --sub fuzz-operator --expires 1h)
export FUZZ_OPERATOR_TOKEN
# The MCP server serves agents only (scripts/schemathesis.toml sends this token to /mcp).
FUZZ_AGENT_TOKEN=$(node --import tsx scripts/token.ts --role agent --sub fuzz-agent --on-behalf-of fuzz-member --expires 1h)
export FUZZ_AGENT_TOKEN
# The console's pages are fuzzed signed in (scripts/schemathesis.toml sends the session cookie there): the
# sign-in link is opened and its form sent as a browser would, and the session cookie kept.
FUZZ_CONSOLE_SESSION=$(node -e '
  const link = new URL(process.argv[1]);
  const cookieOf = (response) =>
    (response.headers.getSetCookie?.() ?? []).map((line) => line.split(";")[0]).join("; ");
  (async () => {
    const page = await fetch(link);
    const browser = cookieOf(page);
    const html = await page.text();
    const field = (name) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? "";
    const form = new URLSearchParams({ token: field("token"), csrf: field("csrf") });
    const signedIn = await fetch(new URL("/console/sign-in", link), {
      method: "POST",
      body: form,
      headers: { cookie: browser, "content-type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    });
    const session = /connections_console=([^;]+)/.exec(cookieOf(signedIn))?.[1];
    if (!session) { console.error(`console sign-in: ${signedIn.status}`); process.exit(1); }
    console.log(session);
  })().catch(() => process.exit(1));' "$(node --import tsx scripts/token.ts --console --role admin --sub fuzz-admin)")
export FUZZ_CONSOLE_SESSION
http PUT /v1/integrations/github '{"clientId":"fuzz-client","clientSecret":"fuzz-secret"}' >/dev/null
connection=$(http POST /v1/connections '{"integration":"github","scope":"workspace","name":"fuzzed"}' |
  node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).connection.id))')
http PUT "/v1/connections/$connection/dependents/agent/fuzz-agent" '{"name":"fuzzed agent"}' >/dev/null

status=0
# One worker: Python 3.11's ast.parse, which Hypothesis calls to describe strategies, is not safe across threads.
"$venv/bin/st" --config-file scripts/schemathesis.toml run "$api/openapi.json" \
  --checks all \
  --exclude-checks use_after_free \
  --max-examples "$FUZZ_MAX_EXAMPLES" \
  --max-time "$FUZZ_SECONDS" \
  --request-timeout 70 \
  --workers 1 \
  --seed "${FUZZ_SEED:-$RANDOM}" \
  --report junit --report-dir "$report" || status=$?

if grep -qE '"level":(50|60)' "$data/service.log"; then
  echo "fuzz: the service logged errors:" >&2
  grep -E '"level":(50|60)' "$data/service.log" | head -20 >&2
  status=1
fi
exit "$status"
