#!/bin/bash
# Bulk over fresh starts, and which mode each start lands in: N times, start the server on CPU 0, run the shared
# benchmark's loadgen (bulk, 10 connections x 64 KiB, 1 s warm-up + 4 s) on CPU 1, stop the server. One line per
# start: MB per server CPU-second, MB/s, and, for an echoserver started with --stats-interval 1s, each measured
# second's KiB received per loop iteration / events per wait (fast mode ~100-200 / ~1.0; slow ~2560 / ~10).
# STALL=S stops the server for S seconds, 0.3 s into the warm-up (a server that fell behind: does it recover?).
# Usage: LOADGEN=/tmp/bench/loadgen/loadgen tools/bulk-starts.sh N LABEL CMD... ({port} in CMD is replaced)
#   e.g. tools/bulk-starts.sh 10 jit /tmp/es-jit/echoserver --bind 127.0.0.1:{port} --stats-interval 1s
set -u
N=$1; LABEL=$2; shift 2
LOADGEN=${LOADGEN:-/tmp/bench/loadgen/loadgen}
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
for i in $(seq 1 "$N"); do
  PORT=$((20000 + RANDOM % 20000))
  CMD=("${@//\{port\}/$PORT}")
  taskset -c 0 "${CMD[@]}" > "$LOG/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do ss -ltnH "sport = :$PORT" | grep -q . && break; sleep 0.1; done
  if [ -n "${STALL:-}" ]; then (sleep 0.3; kill -STOP $PID; sleep "$STALL"; kill -CONT $PID) & fi
  RESULT=$(taskset -c 1 "$LOADGEN" bulk --port $PORT --conns 10 --size 65536 --duration 4 --warmup 1 --server-pid $PID | grep '^RESULT')
  sleep 0.3 # the last stats line
  kill -TERM $PID; wait $PID 2>/dev/null
  field() { sed -E "s/.* $1=([^ ]+).*/\1/" <<< "$RESULT"; }
  SECONDS_SEEN=$(grep -o 'bytes_received=[0-9]* .*loop_iterations=[0-9]* events_per_wait=[0-9.]*' "$LOG/server.log" | tail -5 |
    awk '{ for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
           turns = v["loop_iterations"] - l
           if (n++) printf "%.0f/%s ", (v["bytes_received"] - b) / 1024 / (turns > 0 ? turns : 1), v["events_per_wait"]
           b = v["bytes_received"]; l = v["loop_iterations"] }')
  printf '%s %2d mb_per_cpu_s=%s mb_per_s=%s server_cpu_s=%s mismatch=%s seconds: %s\n' "$LABEL" "$i" \
    "$(field mb_per_cpu_s)" "$(field mb_per_s)" "$(field server_cpu_s)" "$(field mismatch)" "$SECONDS_SEEN"
done
