#!/bin/sh
# Entrypoint of the offline Postgres image (Dockerfile target offline-postgres): the
# official postgres image's contract that docker-compose.yml relies on. On the first
# start (an empty PGDATA) it creates the cluster with the superuser POSTGRES_USER and
# its password POSTGRES_PASSWORD (scram-sha-256 over TCP; trust on the local socket
# inside the container only, as the official image) and the database POSTGRES_DB;
# then, every start, it runs postgres in the foreground listening on all interfaces.
# The password is read from the environment and written to a temporary file for
# initdb only: never echoed, never kept.
set -eu

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: POSTGRES_PASSWORD is empty: set it (docker-compose.yml reads it from .env)" >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # A server on the socket only, for the initial database, then stopped again.
    pg_ctl --pgdata="$PGDATA" --silent --wait -o "-c listen_addresses=''" start
    createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
  fi
  echo "postgres: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
