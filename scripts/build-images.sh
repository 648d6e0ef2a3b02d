#!/usr/bin/env bash
# Build the stage images with one immutable tag and record it in .env, which
# docker-compose.yml, the DAGs (through the environment) and the tests all read.
#
# Usage: scripts/build-images.sh [collect] [train] [serve] [monitor] [airflow] [sandbox]
#   (default: collect train serve monitor)
#   sandbox: the collector image plus the TMDB sandbox (compose profile sandbox).
#   The compose stack's offline third-party images: scripts/build-offline-images.sh.
#   env: BASE_IMAGE (default: the locally built tmdb-mlops/base:bookworm-py311, built when
#        missing; set python:3.11-slim where a registry is reachable), ENV_FILE (default .env),
#        FORCE=1 to rebuild an existing tag.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER="${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )}"
export DOCKER DOCKER_BUILDKIT=1
BASE_IMAGE="${BASE_IMAGE:-tmdb-mlops/base:bookworm-py311}"
ENV_FILE="${ENV_FILE:-.env}"
IMAGE_TAG="${IMAGE_TAG:-$(scripts/image-tag.sh)}"
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(collect train serve monitor)

if [[ "$BASE_IMAGE" == tmdb-mlops/base:* ]]; then
  BASE_IMAGE_TAG="$BASE_IMAGE" scripts/build-base-image.sh
fi

check_image() {  # every image is a target of the one Dockerfile at the root
  case "$1" in
    collect|train|serve|monitor|airflow|sandbox) ;;
    *) echo "error: unknown image $1 (collect, train, serve, monitor, airflow, sandbox)" >&2; return 1 ;;
  esac
}

set_env() {  # set_env KEY VALUE: replace or append one line of $ENV_FILE
  touch "$ENV_FILE"
  grep -v "^$1=" "$ENV_FILE" > "$ENV_FILE.tmp" || true
  echo "$1=$2" >> "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

set_env IMAGE_TAG "$IMAGE_TAG"
for name in "${images[@]}"; do
  check_image "$name"
  ref="tmdb-mlops/${name}:${IMAGE_TAG}"
  var="$(echo "$name" | tr '[:lower:]' '[:upper:]')_IMAGE"
  if [ "${FORCE:-0}" != 1 ] && "$DOCKER" image inspect "$ref" >/dev/null 2>&1; then
    echo "$ref exists (tags are immutable; FORCE=1 rebuilds)"
  else
    start=$(date +%s)
    "$DOCKER" build --build-arg BASE_IMAGE="$BASE_IMAGE" --target "$name" -t "$ref" .
    echo "built $ref in $(( $(date +%s) - start ))s"
  fi
  set_env "$var" "$ref"
done
echo "images recorded in $ENV_FILE (IMAGE_TAG=$IMAGE_TAG)"
