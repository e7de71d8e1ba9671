#!/usr/bin/env bash
# Make sure the services the test suite uses (PostgreSQL) are up; start them if they stopped, and fail
# loudly when one still cannot be reached. Commands from ../shared/README.md.
set -u

up() { timeout 2 bash -c ">/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_up() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do up "$port" && return 0; sleep 0.5; done
  echo "services: $name is not reachable on 127.0.0.1:$port" >&2
  return 1
}

status=0
if ! up 5432; then
  echo "services: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
wait_up PostgreSQL 5432 || status=1

# Redis and NATS join here (same pattern, commands in ../shared/README.md) once a broker
# backend uses them.

exit $status
