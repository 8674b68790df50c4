#!/usr/bin/env bash
# Connections that are no ganforge rank during the TCP rendezvous, for
# tests/cli/distributed.cmake:
#   stray_connections.sh PYTHON3 PROGRAM ARGS...
# starts rank 0 of 2 by environment, then, once it listens, a connection
# that says nothing (held open 60 s) and one that sends an HTTP request, then
# rank 1. Both ranks must train to the end (before, the HTTP bytes ended rank
# 0 at once and the silent one held the rendezvous to its limit): prints each
# rank's output, "statuses A B after S s", and exits 0 when both exited 0
# within 40 s.
set -u
py=$1
shift
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 GF_DIST_RENDEZVOUS_TIMEOUT=90
MASTER_PORT=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MASTER_PORT
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$out"' EXIT
start=$(date +%s)
RANK=0 "$@" > "$out/0" 2>&1 &
r0=$!
# Once rank 0 listens: a silent client, then an HTTP probe.
"$py" - "$MASTER_PORT" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
for _ in range(300):
    try:
        silent = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        time.sleep(0.1)
probe = socket.create_connection(("127.0.0.1", port))
probe.sendall(b"GET / HTTP/1.0\r\n\r\n")
probe.close()
time.sleep(60)
PY
sleep 2
RANK=1 "$@" > "$out/1" 2>&1 &
r1=$!
wait $r0
s0=$?
wait $r1
s1=$?
took=$(($(date +%s) - start))
echo "--- rank 0"; cat "$out/0"; echo "--- rank 1"; cat "$out/1"
echo "statuses $s0 $s1 after $took s"
[[ $s0 == 0 && $s1 == 0 && $took -lt 40 ]]
