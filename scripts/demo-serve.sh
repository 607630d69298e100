#!/usr/bin/env bash
# `make demo`'s server: gunicorn, and one RQ worker beside it when Redis answers
# (MATCHMAKER_REDIS_URL, else redis://127.0.0.1:6379/0). Without Redis, background jobs run
# in a thread inside each gunicorn worker: nothing to set up.
set -u
BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
url=${MATCHMAKER_REDIS_URL:-redis://127.0.0.1:6379/0}
worker=""
if $BIN/python -c "import sys, redis; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$url" 2>/dev/null; then
  export MATCHMAKER_REDIS_URL="$url"
  echo "Redis at ${url%%@*}: background jobs go to one RQ worker (matchmaker jobs worker)"
  $BIN/matchmaker jobs worker &
  worker=$!
  trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM
else
  unset MATCHMAKER_REDIS_URL
  echo "No Redis at ${url%%@*}: background jobs run inside the web process"
fi
echo "Serving on http://$HOST:$PORT/  (Ctrl-C to stop)"
$BIN/gunicorn -w 2 -b "$HOST:$PORT" --access-logfile - wsgi:app
