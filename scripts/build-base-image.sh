#!/usr/bin/env bash
# Build a minimal Debian bookworm + Python 3.11 base image without any image
# registry: mmdebstrap fetches packages from the machine's own apt mirror and
# its tarball is piped into `docker import`.
#
# Why: on machines that cannot pull python:3.11-slim (no registry access) the
# project's Dockerfile still builds with --build-arg BASE_IMAGE=<this tag>.
# When the network intercepts TLS, the proxy's CA certificates (a directory of
# *.crt files) are installed into the image and pip/requests/boto are pointed
# at the system bundle; without them every HTTPS call in a container fails.
#
# Usage: scripts/build-base-image.sh [--force] [--tag TAG] [--ca-dir DIR] [--mirror URL]
#   env: BASE_IMAGE_TAG, EXTRA_CA_DIR, DEBIAN_MIRROR, DOCKER (client binary)
set -euo pipefail

TAG="${BASE_IMAGE_TAG:-tmdb-mlops/base:bookworm-py311}"
CA_DIR="${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
MIRROR="${DEBIAN_MIRROR:-}"
FORCE=0
DOCKER="${DOCKER:-docker}"

while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --tag) TAG="$2"; shift ;;
    --ca-dir) CA_DIR="$2"; shift ;;
    --mirror) MIRROR="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

command -v mmdebstrap >/dev/null || { echo "error: mmdebstrap missing (apt-get install mmdebstrap)" >&2; exit 1; }
"$DOCKER" info >/dev/null 2>&1 || { echo "error: the Docker engine is not reachable" >&2; exit 1; }

if [ "$FORCE" = 0 ] && "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG exists (use --force to rebuild)"
  exit 0
fi

# The mirror apt already uses on this host is the one known to be reachable.
if [ -z "$MIRROR" ]; then
  MIRROR="$(grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -v -- '-security' | grep -i debian | head -n1 || true)"
  if [ -z "$MIRROR" ]; then
    MIRROR="$(grep -hE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -i debian | grep -v -- '-security' | awk '{print $2}' | head -n1 || true)"
  fi
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi
SECURITY_MIRROR="${MIRROR%/debian}/debian-security"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/ca"
if [ -d "$CA_DIR" ]; then
  find "$CA_DIR" -maxdepth 2 -name '*.crt' -exec cp {} "$WORK/ca/" \;
fi
echo "building $TAG from $MIRROR (extra CA certificates: $(find "$WORK/ca" -name '*.crt' | wc -l))"

# Copy the extra CAs in before the packages are configured so that
# ca-certificates' own postinst already includes them; run
# update-ca-certificates again at the end to be explicit.
# The single-quoted hooks are expanded by mmdebstrap's shell ($1 = the chroot).
# shellcheck disable=SC2016
mmdebstrap --variant=minbase --mode=root --format=tar \
  --include=python3,python3-venv,python3-pip,ca-certificates,libgomp1 \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --essential-hook="mkdir -p \"\$1/usr/local/share/ca-certificates\" && cp $WORK/ca/*.crt \"\$1/usr/local/share/ca-certificates/\" 2>/dev/null || true" \
  --customize-hook='chroot "$1" update-ca-certificates' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  bookworm - \
  "deb $MIRROR bookworm main" \
  "deb $MIRROR bookworm-updates main" \
  "deb $SECURITY_MIRROR bookworm-security main" \
  | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' \
    - "$TAG"

"$DOCKER" run --rm "$TAG" python3 -c 'import ssl, sys, venv; print(sys.version.split()[0], ssl.OPENSSL_VERSION)'
echo "built $TAG"
