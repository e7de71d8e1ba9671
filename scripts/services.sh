#!/usr/bin/env bash
# Make sure the services the test suite uses (PostgreSQL, Redis, NATS) are up; start them if they stopped, and fail
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

if ! up 6379; then
  echo "services: starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_up Redis 6379 || status=1

if ! up 4222; then
  echo "services: starting NATS" >&2
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
fi
wait_up NATS 4222 || status=1

exit $status
