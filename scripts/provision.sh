# shellcheck shell=bash
# Sourced by scripts/run-tests.sh: make sure the system components the tests
# use are present (Docker engine + Debian's docker-compose for the pipeline
# tests, mmdebstrap for the registry-free base image, chromium for browser
# tests, wrk for benchmarks). Quick and idempotent when all is there.
#
# Installs only as root (CI machines); elsewhere it reports what is missing and
# the tests that need it skip locally (and fail in CI, see tests/conftest.py).
# A dockerd started here is appended to STARTED_PIDS, which run-tests.sh's EXIT
# trap stops by PID. An engine that already answers is reused, never doubled.

_provision_log() { echo "provision: $*" >&2; }

# command:package pairs; PROVISION_REQUIRE overrides them (tests/pipeline/test_provision.py).
PROVISION_REQUIRE="${PROVISION_REQUIRE:-dockerd:docker.io docker-compose:docker-compose \
mmdebstrap:mmdebstrap chromium:chromium wrk:wrk}"

_provision_packages() {
  local missing=() cmd pkg pair log=test-artifacts/provision-apt.log
  for pair in $PROVISION_REQUIRE; do
    cmd="${pair%%:*}"; pkg="${pair##*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  # Everything present: no apt at all, so a machine without a mirror still runs.
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    _provision_log "missing ${missing[*]} (not root or no apt-get: install them yourself)"
    return 0
  fi
  mkdir -p test-artifacts
  _provision_log "installing ${missing[*]} (log: $log)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1; then
    local why
    why="$(grep -m1 '^E:' "$log" || grep -m1 -E '^(W|Err):' "$log" || tail -n1 "$log")"
    _provision_log "apt-get update failed: ${why}; not installed: ${missing[*]}"
    return 0
  fi
  # One transaction first; when it fails (a package missing from the mirror),
  # one package at a time, so that docker.io does not depend on wrk.
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       "${missing[@]}" >>"$log" 2>&1; then
    return 0
  fi
  local failed=()
  for pkg in "${missing[@]}"; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" \
      >>"$log" 2>&1 || failed+=("$pkg")
  done
  [ ${#failed[@]} -eq 0 ] || _provision_log "apt-get install failed for ${failed[*]} (see $log)"
}

# Debian's client first: the newer client some hosts put first on PATH lacks buildx,
# and the BuildKit builds (cache mounts) need a client that speaks BuildKit.
_provision_docker_client() {
  if [ -x /usr/bin/docker ]; then
    export DOCKER=/usr/bin/docker
  else
    DOCKER="$(command -v docker || true)"
    export DOCKER
  fi
}

_provision_engine_up() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

_provision_dockerd() {
  [ -n "${DOCKER:-}" ] || return 0
  if _provision_engine_up; then
    return 0
  fi
  local dockerd pid_file=/var/run/docker.pid old
  dockerd="$(command -v dockerd || echo /usr/sbin/dockerd)"
  if [ "$(id -u)" != 0 ] || [ ! -x "$dockerd" ]; then
    _provision_log "the Docker engine is not running (start dockerd as root)"
    return 0
  fi
  # A pid file left by a killed engine (or whose pid now belongs to another
  # process, after a reboot) makes a new dockerd refuse to start.
  if [ -f "$pid_file" ]; then
    old="$(cat "$pid_file" 2>/dev/null || true)"
    if [ -z "$old" ] || [ "$(cat "/proc/$old/comm" 2>/dev/null || true)" != dockerd ]; then
      rm -f "$pid_file"
    else
      _provision_log "dockerd (pid $old) runs but does not answer; not starting a second one"
      return 0
    fi
  fi
  mkdir -p test-artifacts
  "$dockerd" >test-artifacts/dockerd.log 2>&1 &
  local pid=$!
  STARTED_PIDS+=("$pid")
  _provision_log "started dockerd (pid $pid), waiting for it"
  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    _provision_engine_up && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  _provision_log "dockerd did not come up: $(tail -n1 test-artifacts/dockerd.log 2>/dev/null)"
}

# PROVISION_DEFINE_ONLY=1: define the functions only (the tests call them one by one).
if [ "${PROVISION_DEFINE_ONLY:-0}" != 1 ]; then
  _provision_packages
  _provision_docker_client
  _provision_dockerd
  export DOCKER_BUILDKIT=1
fi
