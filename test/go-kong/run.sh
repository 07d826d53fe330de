#!/usr/bin/env bash
# go-kong's own integration tests (Debian's golang-github-kong-go-kong-dev, built with Debian's Go) against the Kong
# double, one test per run, each against a freshly started double.
#
# go-kong's tests hard-code http://localhost:8001, so every run happens in a private network namespace
# (`unshare -n`, needs root or CAP_SYS_ADMIN): port 8001 there collides with nothing on the host.
#
#   test/go-kong/run.sh            # install (apt) if needed, build, run the tests of the entities meshgate writes
#   test/go-kong/run.sh TestJWTGet # one named test
# Prints "go-kong: N passed, N failed, N known differences, N skipped" and exits non-zero when a test fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
src=/usr/share/gocode/src/github.com/kong/go-kong/kong
work=${GOKONG_WORK:-/tmp/meshgate-go-kong}
mkdir -p "$work"

if ! command -v go >/dev/null 2>&1 || [ ! -d "$src" ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-github-kong-go-kong-dev) \
    >"$work/apt.log" 2>&1 || { echo "go-kong: apt install failed"; tail -20 "$work/apt.log"; exit 1; }
fi
if [ ! -x "$work/kong.test" ] || [ "$src" -nt "$work/kong.test" ]; then
  (cd "$src" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/cache" go test -c -o "$work/kong.test" .) ||
    { echo "go-kong: build failed"; exit 1; }
fi

# The tests of the entities meshgate writes (services, routes, upstreams, targets, consumers, plugins, JWT
# credentials) and of the root/status endpoints.
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  mapfile -t tests < <(cd "$src" && grep -ho '^func Test[A-Za-z0-9_]*' \
    service_service_test.go route_service_test.go upstream_service_test.go target_service_test.go \
    consumer_service_test.go plugin_service_test.go jwt_auth_service_test.go kong_test.go | sed 's/^func //')
fi

exec unshare -n bash -s "$root" "$work" "${tests[@]}" <<'INNER'
set -uo pipefail
root=$1 work=$2
shift 2
ip link set lo up
# Tests that fail against Kong 3.9 itself, or need what the double does not model.
declare -A expected=(
  [TestTargetMarkHealthy]="go-kong 0.15 POSTs .../healthy; Kong 3.x accepts only PUT (405)"
  [TestTargetMarkUnhealthy]="go-kong 0.15 POSTs .../unhealthy; Kong 3.x accepts only PUT (405)"
  [TestServiceWithClientCert]="certificates are a read-only empty list in the double"
)
(cd "$root" && exec node --import tsx local/kong/main.ts --port 8001) >"$work/double.log" 2>&1 &
double=$!
for _ in $(seq 1 100); do
  grep -q listening "$work/double.log" && break
  sleep 0.1
done
passed=0 failed=0 skipped=0 known=0 resets=0
for name in "$@"; do
  # Each test starts from an empty Kong: wait until the double says it has emptied its store.
  resets=$((resets + 1))
  kill -USR2 "$double"
  for _ in $(seq 1 100); do
    grep -q "^reset $resets\$" "$work/double.log" && break
    sleep 0.05
  done
  out=$("$work/kong.test" -test.run "^${name}\$" -test.v 2>&1)
  if grep -q -- "^--- FAIL" <<<"$out" || grep -q "^FAIL" <<<"$out"; then
    if [ -n "${expected[$name]:-}" ]; then
      known=$((known + 1))
      echo "xfail $name: ${expected[$name]}"
      continue
    fi
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/    /' <<<"$out" | grep -v '^    === RUN' | head -40
  elif grep -q -- "^--- SKIP" <<<"$out"; then
    skipped=$((skipped + 1))
    echo "skip $name"
  else
    passed=$((passed + 1))
    echo "ok   $name"
  fi
done
kill "$double" && wait "$double" 2>/dev/null
echo "go-kong: $passed passed, $failed failed, $known known differences, $skipped skipped"
[ "$failed" -eq 0 ]
INNER
