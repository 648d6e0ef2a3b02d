#!/usr/bin/env bash
# `make airflow`: Airflow 3 standalone (api-server, scheduler, dag-processor,
# triggerer; sqlite + LocalExecutor) on 127.0.0.1 with the project's DockerOperator
# DAGs, run against the local Docker engine. The e2e test starts Airflow with this
# same script.
#
# Reads the environment and ENV_FILE (default .env: image tags from
# scripts/build-images.sh, storage, TMDB settings). DAGs are unpaused at creation.
#   env: AIRFLOW_HOME (default .airflow), AIRFLOW_PORT (default 8080),
#        PIPELINE_DOCKER_NETWORK (default host: the stage containers reach the S3
#        server and TMDB sandbox on the host's 127.0.0.1).
# UI: http://127.0.0.1:$AIRFLOW_PORT, user admin, password in $AIRFLOW_HOME/passwords.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV_FILE="${ENV_FILE:-$ROOT/.env}"
if [ -f "$ENV_FILE" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$ENV_FILE"
  set +a
fi
AIRFLOW_BIN="${AIRFLOW_BIN:-$ROOT/.venv/bin/airflow}"
# standalone starts its components as `airflow ...` subprocesses.
export PATH="$(dirname "$AIRFLOW_BIN"):$PATH"
PORT="${AIRFLOW_PORT:-8080}"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/airflow_pipeline/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"
export PIPELINE_DOCKER_NETWORK="${PIPELINE_DOCKER_NETWORK:-host}"

mkdir -p "$AIRFLOW_HOME"
if [ ! -s "$AIRFLOW_HOME/passwords.json" ]; then
  # A random password per installation, never a default one.
  umask 077
  "$ROOT/.venv/bin/python" -c \
    'import json, secrets; print(json.dumps({"admin": secrets.token_urlsafe(12)}))' \
    > "$AIRFLOW_HOME/passwords.json"
fi
if [ -z "${COLLECT_IMAGE:-}" ] || [ -z "${TRAIN_IMAGE:-}" ]; then
  echo "warning: COLLECT_IMAGE/TRAIN_IMAGE unset; run scripts/build-images.sh (make images) first" >&2
fi
# Nothing configured yet (no TMDB credentials, a local STORAGE_URL the containers
# cannot see): start the TMDB sandbox and a SeaweedFS S3 server on 127.0.0.1 so the
# DAGs run out of the box, and backfill the sandbox's last month by default.
# Each service runs in its own session (setsid), so stopping it stops its whole
# process group: airflow standalone's scheduler and workers do not always exit
# with their parent.
STARTED=()
stop_started() {
  for pid in "${STARTED[@]:-}"; do
    [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null
  done
  for pid in "${STARTED[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 60); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
}
trap stop_started EXIT INT TERM
wait_for() {  # url, what
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.4
  done
  echo "error: $2 did not come up at $1" >&2
  exit 1
}
if [ -z "${TMDB_API_KEY:-}${TMDB_READ_ACCESS_TOKEN:-}" ] && [ -z "${TMDB_BASE_URL:-}" ]; then
  SANDBOX_PORT="${SANDBOX_PORT:-8700}"
  setsid "$ROOT/.venv/bin/tmdb-mlops" sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" \
    >"$AIRFLOW_HOME/sandbox.log" 2>&1 &
  STARTED+=($!)
  export TMDB_BASE_URL="http://127.0.0.1:$SANDBOX_PORT/3" TMDB_API_KEY=sandbox
  export PIPELINE_START_DATE="${PIPELINE_START_DATE:-2014-02-01}"
  export PIPELINE_END_DATE="${PIPELINE_END_DATE:-2014-03-01}"
  wait_for "$TMDB_BASE_URL/genre/movie/list?api_key=sandbox" "the TMDB sandbox"
  echo "TMDB sandbox on 127.0.0.1:$SANDBOX_PORT (log $AIRFLOW_HOME/sandbox.log)" >&2
fi
case "${STORAGE_URL:-./data}" in
  s3://*) ;;
  *)
    S3_PORT="${S3_PORT:-8333}"
    mkdir -p "$AIRFLOW_HOME/seaweedfs"
    if [ ! -s "$AIRFLOW_HOME/s3-identity.json" ]; then
      umask 077
      "$ROOT/.venv/bin/python" -c 'import json, secrets; print(json.dumps({"identities": [{"name": "airflow",
        "credentials": [{"accessKey": secrets.token_hex(8), "secretKey": secrets.token_hex(16)}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))' > "$AIRFLOW_HOME/s3-identity.json"
    fi
    setsid "$ROOT/.venv/bin/weed" mini -dir="$AIRFLOW_HOME/seaweedfs" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -s3.port="$S3_PORT" -s3.config="$AIRFLOW_HOME/s3-identity.json" -s3.autoCreateBucket=false \
      -admin.ui=false -webdav=false >"$AIRFLOW_HOME/seaweedfs.log" 2>&1 &
    STARTED+=($!)
    read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY < <("$ROOT/.venv/bin/python" -c \
      'import json, sys; c = json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]; print(c["accessKey"], c["secretKey"])' \
      "$AIRFLOW_HOME/s3-identity.json")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    export S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" STORAGE_URL="s3://tmdb/data"
    for _ in $(seq 1 150); do
      "$ROOT/.venv/bin/python" - <<'PY' 2>/dev/null && break
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"])
if "tmdb" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket="tmdb")
PY
      sleep 0.4
    done
    echo "SeaweedFS S3 on $S3_ENDPOINT_URL, bucket s3://tmdb (credentials in $AIRFLOW_HOME/s3-identity.json)" >&2
    ;;
esac

echo "Airflow UI: http://127.0.0.1:$PORT  (user admin, password in $AIRFLOW_HOME/passwords.json)" >&2
if [ ${#STARTED[@]} -eq 0 ]; then
  trap - EXIT INT TERM
  exec "$AIRFLOW_BIN" standalone
fi
setsid "$AIRFLOW_BIN" standalone &
STARTED+=($!)
wait "${STARTED[-1]}"
