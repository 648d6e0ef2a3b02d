#!/usr/bin/env bash
# Print the immutable image tag of this checkout: <version>-<git short rev>, or
# <version>-<git short rev>-dirty.<content hash> when the image sources differ
# from the commit.
#
# Why: the prototype ran stale `:v1` images. A tag that names the exact source
# can never point at two different builds, and scripts/build-images.sh skips a
# tag that exists, so the tag MUST change whenever what goes into an image
# changes. With uncommitted changes (every e2e run during development) the
# commit alone does not say that, so the tag then carries a hash of the names
# and contents of every file under the image source paths: tracked, untracked
# and git-ignored alike (minus the caches .dockerignore drops), deleted files
# excluded. Touching a file (mtime only) keeps the tag, as it keeps the image.
# Outside a git checkout the tag is <version>-nogit-dirty.<content hash>.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' common/pyproject.toml | head -n1)"
# The Dockerfile and everything it COPYs (keep in sync with it).
paths=(Dockerfile constraints.txt .dockerignore scripts/part-requirements.py
       common data-prepare airflow_pipeline serving monitoring)
# What .dockerignore keeps out of every image anyway: never part of the tag.
skip=(-e '/__pycache__/' -e '\.pyc$' -e '\.egg-info/')

source_files() {  # NUL-separated, sorted, existing files under $paths
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others -- "${paths[@]}"
  else
    find "${paths[@]}" -type f -print0 2>/dev/null || true
  fi | { grep -zv "${skip[@]}" || true; } | LC_ALL=C sort -zu \
     | while IFS= read -r -d '' file; do [ -f "$file" ] && printf '%s\0' "$file"; done
}

rev="$(git rev-parse --short=8 HEAD 2>/dev/null || echo nogit)"
changed="$({ git status --porcelain --ignored=matching -- "${paths[@]}" 2>/dev/null || true; } \
  | { grep -v "${skip[@]}" || true; })"
if [ "$rev" = nogit ] || [ -n "$changed" ]; then
  content="$(source_files | xargs -0 -r sha256sum | sha256sum | cut -c1-8)"
  rev="${rev}-dirty.${content}"
fi
echo "${version}-${rev}"
