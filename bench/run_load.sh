#!/usr/bin/env bash
# Load test of a production-shaped site on this machine, every process on 127.0.0.1:
#   the GitHub fake (50 ms per answer), a scratch PostgreSQL database, gunicorn (4 workers),
#   db_worker processes for background refreshes, and locust in headless mode.
# Everything started here is stopped on exit, and the scratch database is dropped.
#
#   bench/run_load.sh                      # 50 users, 10/s ramp-up, 2 minutes
#   USERS=20 DURATION=30s bench/run_load.sh
#   READ_ONLY=1 bench/run_load.sh          # without the refresh and polling tasks
#
# Output: var/load/ (locust.txt with the summary, locust_stats.csv, the users file, server logs).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
USERS="${USERS:-50}"
SPAWN_RATE="${SPAWN_RATE:-10}"
DURATION="${DURATION:-2m}"
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Free ports unless given: another site or fake on this machine must not answer in our place.
FAKE_PORT="${FAKE_PORT:-$(free_port)}"
SITE_PORT="${SITE_PORT:-$(free_port)}"
WEB_WORKERS="${WEB_WORKERS:-4}"
TASK_WORKERS="${TASK_WORKERS:-2}"
ARTIFACTS="${ARTIFACTS:-12}"
PG_SERVER="${PG_SERVER:-postgres://postgres@127.0.0.1:5432}"
DB_NAME="${DB_NAME:-skillmeat_load_scratch}"
OUT="${OUT:-var/load}"

mkdir -p "$OUT"
PIDS=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    # Bounded wait: a process that ignores SIGTERM for 10 s gets SIGKILL.
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ -z "${KEEP_DB:-}" ]; then
    scratch_db drop || true
  fi
  exit "$status"
}
trap cleanup EXIT INT TERM

scratch_db() {
  PG_SERVER="$PG_SERVER" DB_NAME="$DB_NAME" ACTION="$1" "$PY" - <<'PY'
import os
import psycopg
from psycopg import sql

name = os.environ["DB_NAME"]
with psycopg.connect(os.environ["PG_SERVER"] + "/postgres", autocommit=True) as conn:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if os.environ["ACTION"] == "create":
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PY
}

wait_for() {  # wait_for URL SECONDS PID: the URL answers, and the process we started lives
  for _ in $(seq 1 $(($2 * 10))); do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "the process serving $1 exited; see $OUT/" >&2
      return 1
    fi
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

export DATABASE_URL="$PG_SERVER/$DB_NAME"
export DJANGO_DEBUG=false
# A production-like site needs a key (it refuses to start without one): a random one per run.
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
export GITHUB_API_URL="http://127.0.0.1:$FAKE_PORT"
export GITHUB_TOKEN=test-token
export LOG_LEVEL=WARNING
export LOAD_USERS="$OUT/users.json"

echo "== machine: $(nproc) cores; $(free -h | awk '/^Mem:/ {print $2 " memory"}'); $($PY --version)"
echo "== GitHub fake on 127.0.0.1:$FAKE_PORT (50 ms latency)"
"$PY" -m fakegithub --port "$FAKE_PORT" --latency 0.05 --demo >"$OUT/fake.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$FAKE_PORT/rate_limit" 20 "$!"

echo "== scratch database $DB_NAME"
scratch_db create
"$PY" manage.py migrate --no-input -v 0
"$PY" manage.py createcachetable
"$PY" bench/load_setup.py --users "$USERS" --artifacts "$ARTIFACTS" --output "$LOAD_USERS"

echo "== gunicorn ($WEB_WORKERS workers) on 127.0.0.1:$SITE_PORT, $TASK_WORKERS db_worker(s)"
.venv/bin/gunicorn skillmeat_site.wsgi -w "$WEB_WORKERS" -b "127.0.0.1:$SITE_PORT" \
  --timeout 60 --error-logfile "$OUT/gunicorn.log" &
PIDS+=($!)
GUNICORN_PID=$!
for i in $(seq 1 "$TASK_WORKERS"); do
  "$PY" manage.py db_worker --interval 0.5 --no-reload --worker-id "load-$i-$$" \
    >"$OUT/db_worker-$i.log" 2>&1 &
  PIDS+=($!)
done
wait_for "http://127.0.0.1:$SITE_PORT/healthz" 30 "$GUNICORN_PID"

LOCUST_ARGS=(-f locustfiles/site.py --headless -u "$USERS" -r "$SPAWN_RATE" -t "$DURATION"
  --host "http://127.0.0.1:$SITE_PORT" --csv "$OUT/locust" --stop-timeout 10 --loglevel WARNING --only-summary)
if [ -n "${READ_ONLY:-}" ]; then
  # Only the read tasks (no refresh, no polling).
  LOCUST_ARGS+=(--exclude-tags background)
fi
echo "== locust ${LOCUST_ARGS[*]}"
set +e
# Bounded: the run's own duration plus two minutes for start-up and the final report.
timeout 900 .venv/bin/locust "${LOCUST_ARGS[@]}" 2>&1 | tee "$OUT/locust.txt"
LOCUST_STATUS=${PIPESTATUS[0]}
set -e

echo "== refresh runs recorded"
"$PY" manage.py shell -v 0 <<'PY' | tee -a "$OUT/locust.txt"
from django.db.models import Avg, Count, Max
from refresher.models import RefreshRun
rows = RefreshRun.objects.values("status").annotate(
    n=Count("id"), avg=Avg("duration_ms"), top=Max("duration_ms")
)
for row in rows.order_by("status"):
    print(
        f"  {row['status']:<10} {row['n']:5d} runs,"
        f" duration avg {row['avg'] or 0:.0f} ms, max {row['top'] or 0} ms"
    )
PY
exit "$LOCUST_STATUS"
