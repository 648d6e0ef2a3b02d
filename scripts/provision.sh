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

_provision_packages() {
  local missing=() cmd pkg
  for pair in dockerd:docker.io docker-compose:docker-compose mmdebstrap:mmdebstrap \
              chromium:chromium wrk:wrk; do
    cmd="${pair%%:*}"; pkg="${pair##*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    _provision_log "missing ${missing[*]} (not root or no apt-get: install them yourself)"
    return 0
  fi
  _provision_log "installing ${missing[*]}"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
              "${missing[@]}" >/dev/null; }; then
    _provision_log "apt-get install ${missing[*]} failed"
  fi
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

_provision_dockerd() {
  [ -n "${DOCKER:-}" ] || return 0
  if "$DOCKER" info >/dev/null 2>&1; then
    return 0
  fi
  local dockerd
  dockerd="$(command -v dockerd || echo /usr/sbin/dockerd)"
  if [ "$(id -u)" != 0 ] || [ ! -x "$dockerd" ]; then
    _provision_log "the Docker engine is not running (start dockerd as root)"
    return 0
  fi
  # A stale pid file from a killed engine blocks a new one.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  mkdir -p test-artifacts
  "$dockerd" >test-artifacts/dockerd.log 2>&1 &
  local pid=$!
  STARTED_PIDS+=("$pid")
  _provision_log "started dockerd (pid $pid), waiting for it"
  local i
  for i in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  _provision_log "dockerd did not come up; see test-artifacts/dockerd.log"
}

_provision_packages
_provision_docker_client
_provision_dockerd
export DOCKER_BUILDKIT=1
