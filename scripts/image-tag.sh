#!/usr/bin/env bash
# Print the immutable image tag of this checkout: <version>-<git short rev>.
#
# Why: the prototype ran stale `:v1` images. A tag that names the exact source
# can never point at two different builds. When the working tree differs from
# the commit (or there is no commit yet), a hash of the files that go into the
# images is appended, so uncommitted builds get their own tag too.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' pyproject.toml | head -n1)"
paths=(pyproject.toml constraints.txt README.md common data-prepare airflow_pipeline serving)

rev="$(git rev-parse --short=8 HEAD 2>/dev/null || echo nogit)"
if [ "$rev" = nogit ] || [ -n "$(git status --porcelain -- "${paths[@]}" 2>/dev/null)" ]; then
  content="$(git ls-files -co --exclude-standard -- "${paths[@]}" 2>/dev/null \
    | grep -v -e '__pycache__' -e '\.pyc$' | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -c1-8)"
  rev="${rev}-dirty.${content}"
fi
echo "${version}-${rev}"
