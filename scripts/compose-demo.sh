#!/usr/bin/env bash
# `make compose-demo`: the compose stack against the TMDB sandbox, from nothing to
# served predictions, with no TMDB key: builds the images, fills in .env, starts
# `--profile sandbox` (plus `--profile celery` with two workers when .env says
# AIRFLOW_EXECUTOR=CeleryExecutor), unpauses both DAGs, waits for the first
# champion and prints a prediction. The schedule's catchup then collects the 30
# logical dates 2014-01-31 .. 2014-03-01 (as `make demo`), and tmdb_train follows
# each collection through the asset.
#
# .env: secrets the stack requires are generated when missing (never printed);
# the sandbox settings are written (TMDB_BASE_URL=http://tmdb-sandbox:8700/3,
# TMDB_API_KEY=sandbox, the 30-date window, TMDB_RATE_LIMIT=1000). A .env with real
# TMDB credentials is refused rather than rewritten.
#
# Usage: scripts/compose-demo.sh
#   env: OFFLINE=1 (third-party images built locally: docker-compose.offline.yml),
#        ENV_FILE (default .env), DEMO_TIMEOUT (seconds to wait for a champion, 1800)
# Stop: docker compose [-f docker-compose.yml -f docker-compose.offline.yml] \
#         --profile sandbox --profile celery down      (add -v to delete the data)
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_FILE="${ENV_FILE:-.env}"
export ENV_FILE
fail() { echo "error: $*" >&2; exit 1; }

if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
  COMPOSE=(docker-compose)
else
  fail "neither 'docker compose' nor docker-compose is installed"
fi
FILES=(-f docker-compose.yml)

# 1. Images (immutable tags, skipped when built).
scripts/build-images.sh collect train serve airflow sandbox
if [ "${OFFLINE:-0}" = 1 ]; then
  scripts/build-offline-images.sh
  FILES+=(-f docker-compose.offline.yml)
fi

# 2. .env
get_env() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; }
set_env() {
  grep -v "^$1=" "$ENV_FILE" > "$ENV_FILE.tmp" || true
  echo "$1=$2" >> "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}
chmod 600 "$ENV_FILE"
for name in POSTGRES_PASSWORD AIRFLOW_JWT_SECRET AIRFLOW_ADMIN_PASSWORD AWS_SECRET_ACCESS_KEY ADMIN_TOKEN; do
  [ -n "$(get_env "$name")" ] || set_env "$name" "$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
done
[ -n "$(get_env AWS_ACCESS_KEY_ID)" ] || set_env AWS_ACCESS_KEY_ID "tmdb$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
[ -n "$(get_env DOCKER_GID)" ] || set_env DOCKER_GID "$(stat -c %g /var/run/docker.sock)"
key="$(get_env TMDB_API_KEY)"
if [ -n "$(get_env TMDB_READ_ACCESS_TOKEN)" ] || { [ -n "$key" ] && [ "$key" != sandbox ]; }; then
  fail "$ENV_FILE holds TMDB credentials; the demo runs against the sandbox: remove TMDB_API_KEY/TMDB_READ_ACCESS_TOKEN from it (or use the stack without make compose-demo)"
fi
set_env TMDB_API_KEY sandbox
set_env TMDB_BASE_URL http://tmdb-sandbox:8700/3
set_env TMDB_RATE_LIMIT 1000
set_env PIPELINE_START_DATE 2014-01-31
set_env PIPELINE_END_DATE 2014-03-01
echo "compose-demo: sandbox settings and missing secrets written to $ENV_FILE" >&2

PROFILES=(--profile sandbox)
SCALE=()
if [ "$(get_env AIRFLOW_EXECUTOR)" = CeleryExecutor ]; then
  PROFILES+=(--profile celery)
  SCALE=(--scale airflow-worker=2)
fi
compose() { "${COMPOSE[@]}" "${FILES[@]}" --env-file "$ENV_FILE" "${PROFILES[@]}" "$@"; }

# 3. Up, then unpause both DAGs through the REST API.
compose up -d --no-build "${SCALE[@]}"
AIRFLOW="http://127.0.0.1:$(get_env AIRFLOW_PORT | grep . || echo 8080)"
SERVING="http://127.0.0.1:$(get_env SERVE_PORT | grep . || echo 8000)"
token=""
for _ in $(seq 1 100); do
  token="$(AIRFLOW_ADMIN_PASSWORD="$(get_env AIRFLOW_ADMIN_PASSWORD)" python3 - "$AIRFLOW" <<'PY' 2>/dev/null || true
import json, os, sys, urllib.request
body = json.dumps({"username": "admin", "password": os.environ["AIRFLOW_ADMIN_PASSWORD"]}).encode()
request = urllib.request.Request(sys.argv[1] + "/auth/token", data=body,
                                 headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["access_token"])
PY
)"
  [ -n "$token" ] && break
  sleep 3
done
[ -n "$token" ] || fail "the Airflow API at $AIRFLOW did not answer (compose logs airflow-apiserver)"
for dag in tmdb_collect tmdb_train; do
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null -X PATCH "$AIRFLOW/api/v2/dags/$dag" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d '{"is_paused": false}' && break
    sleep 3  # the dag-processor has not parsed it yet
  done || fail "could not unpause $dag at $AIRFLOW"
done
echo "compose-demo: DAGs unpaused; Airflow UI $AIRFLOW (user admin, password AIRFLOW_ADMIN_PASSWORD in $ENV_FILE)" >&2

# 4. The first champion, served.
deadline=$((SECONDS + ${DEMO_TIMEOUT:-1800}))
until curl -fs -o /dev/null "$SERVING/ready"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no champion served at $SERVING/ready within ${DEMO_TIMEOUT:-1800}s (see the runs in $AIRFLOW)"
  sleep 10
done
curl -fsS -X POST "$SERVING/predict" -H 'Content-Type: application/json' -d '{
  "title": "Le Petit Jardin", "release_date": "2026-01-21",
  "genres": ["Animation", "Family"], "original_language": "fr", "runtime": 95}'
echo
ENV_ARG=""
[ "$ENV_FILE" = .env ] || ENV_ARG="--env-file $ENV_FILE"
cat >&2 <<EOF
compose-demo: serving a champion (the catchup keeps collecting; each collection retrains)
  Results:  $SERVING/results
  API docs: $SERVING/docs
  Airflow:  $AIRFLOW
  Stop:     ${COMPOSE[*]} ${FILES[*]} ${ENV_ARG} ${PROFILES[*]} down   (-v also deletes the data)
EOF
