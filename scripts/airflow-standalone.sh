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
echo "Airflow UI: http://127.0.0.1:$PORT  (user admin, password in $AIRFLOW_HOME/passwords.json)" >&2
exec "$AIRFLOW_BIN" standalone
