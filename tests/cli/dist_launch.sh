#!/usr/bin/env bash
# Launches train_stylegan as several processes, the ways a user would, for
# tests/cli/distributed.cmake:
#   dist_launch.sh mpi N PROGRAM ARGS...       mpirun -np N --oversubscribe
#   dist_launch.sh env N PROGRAM ARGS...       the torchrun-style environment, on a free port
#   dist_launch.sh torchrun N PROGRAM ARGS...  PyTorch's torchrun itself (python3 -m
#                                              torch.distributed.run --no_python), N processes, its
#                                              default static rendezvous on a free --master_port
#                                              (its agent holds that port); exits 77 when
#                                              $PYTHON3 (default /usr/bin/python3) has no torch
#   dist_launch.sh torchrun-c10d N PROGRAM ARGS... the same with the c10d rendezvous (as
#                                              --standalone, but on a free port, not 29400)
#   dist_launch.sh kill-env PROGRAM ARGS...    2 ranks by env; rank 1 is killed (SIGKILL) once
#                                              rank 0 trains; rank 0 must stop with an error
#   dist_launch.sh kill-mpi PROGRAM ARGS...    the same under mpirun
#   dist_launch.sh kill-torchrun PROGRAM ARGS... the same under torchrun (static rendezvous; exit 77
#                                              without torch)
#   dist_launch.sh stop-env PROGRAM ARGS...    as kill-env, but rank 1 is stopped (SIGSTOP): it
#                                              hangs, and rank 0's wait must time out (GF_DIST_TIMEOUT)
#   dist_launch.sh kill-root-env PROGRAM ARGS... as kill-env, but rank 0 is killed; rank 1 must stop
#   dist_launch.sh signal-env SIG WHO PROGRAM ARGS... 2 ranks by env; once rank 0 trains, SIGSIG goes
#                                              to rank WHO (0 or 1) or to both (all, as a terminal's
#                                              Ctrl-C): each rank's output, then their exit statuses
#   dist_launch.sh readme-loop README PROGRAM ARGS... the README's 8-GPU launch loop by environment,
#                                              word for word but for 2 ranks, a free port and PROGRAM
#                                              ARGS, as a script in its own process group; once rank 0
#                                              trains, SIGINT to the group (a terminal's Ctrl-C): each
#                                              rank's output, then the script's status
#   dist_launch.sh partial N K PROGRAM ARGS... ranks 0..K-1 of N by env (the others never start):
#                                              each rank's output in rank order, then their exit
#                                              statuses and seconds taken (each waited on 90 s at most)
# In the env and partial modes, RANK<r>_ARGS (e.g. RANK1_ARGS='--gamma 2'),
# when set, adds its words to rank r's arguments alone: a launch whose ranks
# differ, which every rank must refuse.
# The kill modes print the survivors' output and "stopped after S s"; they
# exit 0 only when the run ended (non-zero) within 90 s of the kill. The kill
# comes once a line matching KILL_AFTER_LINE (default "tick 0 ": rank 0
# trains) is printed.
set -u
mode=$1
shift
# Open MPI as root (CI containers), with no shared-memory single copy
# (ptrace is often denied in containers), and unbound ranks on a shared machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=(mpirun --oversubscribe --bind-to none)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

free_port() {  # a port nothing listens on now (the kernel's pick)
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# TORCHRUN=(python3 -m torch.distributed.run ...) for mode $1 (torchrun: the
# static rendezvous; torchrun-c10d) with $2 processes of PROGRAM ARGS ($3...);
# exits 77 when $PYTHON3 has no torch.
torchrun_command() {
  local kind=$1 n=$2
  shift 2
  local py=${PYTHON3:-/usr/bin/python3}
  "$py" -c 'import torch.distributed.run' 2>/dev/null || {
    echo "dist_launch: skipped: $py cannot import torch.distributed.run (python3-torch)"
    exit 77
  }
  local port rdzv
  port=$(free_port_pair)
  [[ -n $port ]] || exit 1
  if [[ $kind == torchrun ]]; then
    rdzv=(--master_addr 127.0.0.1 --master_port "$port")
  else
    rdzv=(--rdzv_backend c10d --rdzv_endpoint "127.0.0.1:$port" --rdzv_id "gf$$")
  fi
  # --redirects/--tee: a mapping for a local rank that does not exist (so
  # none is redirected), as torch 1.13's default "0" fails under Python 3.11
  # (Std.from_str finds no Std for 0: AttributeError 'NoneType' ... 'get').
  # --log_dir: the agent's log folder, which it never removes (by default a
  # new torchelastic_* in /tmp at each launch); the caller removes this one.
  TORCHRUN_LOGS=$(mktemp -d)
  TORCHRUN=("$py" -m torch.distributed.run --redirects 9:1 --tee 9:1 --no_python --nnodes 1 --nproc_per_node "$n"
    --log_dir "$TORCHRUN_LOGS" "${rdzv[@]}" "$@")
}

free_port_pair() {  # a port P with P + 1 free too (under torchrun's static rendezvous our rank 0 takes P + 1)
  /usr/bin/python3 -c '
import socket
for _ in range(100):
    s, t = socket.socket(), socket.socket()
    s.bind(("", 0))
    p = s.getsockname()[1]
    try:
        t.bind(("", p + 1))
    except OSError:
        continue
    print(p)
    break'
}

# start_env N K PROGRAM ARGS...: starts ranks 0..K-1 of N by environment in
# the background; their pids in PIDS. With LOGS set, rank r's output goes to LOGS.r.
start_env() {
  local n=$1 k=$2
  shift 2
  local port
  port=$(free_port) || exit 1
  PIDS=()
  local extra var
  for ((r = 0; r < k; ++r)); do
    var=RANK${r}_ARGS
    read -r -a extra <<<"${!var:-}"
    if [[ -n ${LOGS:-} ]]; then
      RANK=$r LOCAL_RANK=$r WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$@" "${extra[@]}" >"$LOGS.$r" 2>&1 &
      PIDS+=($!)
      continue
    fi
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$@" "${extra[@]}" &
    PIDS+=($!)
  done
}

# Waits for pid $1 at most $2 seconds; its exit status, or 124 when it ran longer (then killed).
wait_bounded() {
  local pid=$1 limit=$2 t=0
  while kill -0 "$pid" 2>/dev/null && ((t < limit * 10)); do
    sleep 0.1
    t=$((t + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
  fi
  wait "$pid"
}

# Waits for every pid in PIDS (90 s each at most); their exit statuses in
# STATUSES (" 0 1"), in PIDS's order.
wait_all() {
  STATUSES=""
  for p in "${PIDS[@]}"; do
    wait_bounded "$p" 90
    STATUSES+=" $?"
  done
}

# Waits until file $1 holds a line matching $2 (rank 0 trains), at most 300 s.
wait_for_line() {
  for ((t = 0; t < 3000; ++t)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "dist_launch: '$2' never appeared in $1" >&2
  return 1
}

case $mode in
  mpi)
    n=$1
    shift
    exec "${mpi[@]}" -np "$n" "$@"
    ;;
  env)
    n=$1
    shift
    start_env "$n" "$n" "$@"
    rc=0
    for p in "${PIDS[@]}"; do wait "$p" || rc=1; done
    exit $rc
    ;;
  torchrun | torchrun-c10d)
    n=$1
    shift
    torchrun_command "$mode" "$n" "$@"
    "${TORCHRUN[@]}"
    status=$?
    rm -rf "$TORCHRUN_LOGS"
    exit $status
    ;;
  partial)
    n=$1 k=$2
    shift 2
    LOGS=$(mktemp)
    trap 'rm -f "$LOGS" "$LOGS".*' EXIT
    start=$SECONDS
    start_env "$n" "$k" "$@"
    wait_all
    took=$((SECONDS - start))
    for ((r = 0; r < k; ++r)); do cat "$LOGS.$r"; done
    echo "dist_launch: ranks 0..$((k - 1)) of $n exited with statuses$STATUSES after $took s"
    ;;
  signal-env)
    sig=$1 who=$2
    shift 2
    LOGS=$(mktemp)
    trap 'rm -f "$LOGS" "$LOGS".*' EXIT
    # Job control on: a script's background jobs would otherwise ignore
    # SIGINT, as a terminal's foreground processes do not.
    set -m
    start_env 2 2 "$@"
    targets=("${PIDS[@]}")
    [[ $who == all ]] || targets=("${PIDS[$who]}")
    if ! wait_for_line "$LOGS.0" "${KILL_AFTER_LINE:-tick 0 }"; then
      kill -9 "${PIDS[@]}" 2>/dev/null
      cat "$LOGS".*
      exit 1
    fi
    kill -s "$sig" "${targets[@]}"
    start=$SECONDS
    wait_all
    took=$((SECONDS - start))
    for f in "$LOGS".*; do cat "$f"; done
    echo "dist_launch: SIG$sig; the ranks exited with statuses$STATUSES after $took s"
    ;;
  readme-loop)
    readme=$1
    shift
    LOGS=$(mktemp)
    port=$(free_port)
    trap 'rm -f "$LOGS" "$LOGS".*' EXIT
    # The block from "( trap 'kill -TERM" to "wait; wait )" that runs
    # train_stylegan on 127.0.0.1, with its ranks, port and command swapped.
    awk '/^\( trap .kill -TERM/ { buf = ""; grab = 1 }
         grab { buf = buf $0 "\n" }
         grab && /wait; wait \)/ { if (buf ~ /train_stylegan/ && buf ~ /127\.0\.0\.1/) { printf "%s", buf; exit } grab = 0 }' "$readme" |
      sed -e 's/0 1 2 3 4 5 6 7/0 1/' -e 's/WORLD_SIZE=8/WORLD_SIZE=2/' -e "s/MASTER_PORT=29500/MASTER_PORT=$port/" \
          -e "s|build/bin/train_stylegan --device cuda --cfg paper256 --data ffhq256.zip &|\"\\\$@\" >\"$LOGS.\\\$r\" 2>\\&1 \\&|" >"$LOGS.sh"
    for want in '( trap ' 'for r in 0 1; do' 'WORLD_SIZE=2' '"$@" >' 'wait; wait )'; do
      grep -qF -- "$want" "$LOGS.sh" || { echo "dist_launch: the README's loop has no '$want':"; cat "$LOGS.sh"; exit 1; }
    done
    # The loop runs as a script does (no job control: its & jobs ignore
    # SIGINT); it is started here with job control, so that it gets its own
    # process group and does not inherit an ignored SIGINT, as a script started
    # from a terminal does not.
    set -m
    bash "$LOGS.sh" "$@" &
    group=$!
    set +m
    if ! wait_for_line "$LOGS.0" "${KILL_AFTER_LINE:-tick 0 }"; then
      kill -9 -- -"$group" 2>/dev/null
      cat "$LOGS".[01]
      exit 1
    fi
    start=$SECONDS
    kill -INT -- -"$group"
    # Ranks that train on (no trap) fail here in 30 s, not at the run's end.
    for ((t = 0; t < 300; ++t)); do
      pgrep -g "$group" > /dev/null || break
      sleep 0.1
    done
    if pgrep -g "$group" > /dev/null; then
      kill -9 -- -"$group"
      echo "dist_launch: the ranks still trained 30 s after the SIGINT"
    fi
    wait "$group"
    status=$?
    took=$((SECONDS - start))
    for f in "$LOGS".[01]; do cat "$f"; done
    echo "dist_launch: SIGINT to the loop's group; the ranks ended in $took s (the loop: status $status)"
    ;;
  kill-env | kill-root-env | kill-mpi | kill-torchrun | stop-env)
    log=$(mktemp)
    TORCHRUN_LOGS=""
    trap 'rm -f "$log"; [[ -z $TORCHRUN_LOGS ]] || rm -rf "$TORCHRUN_LOGS"' EXIT
    if [[ $mode == kill-root-env ]]; then
      start_env 2 2 "$@" >"$log" 2>&1
      main=${PIDS[1]} victim=${PIDS[0]}
    elif [[ $mode == *-env ]]; then
      start_env 2 2 "$@" >"$log" 2>&1
      main=${PIDS[0]} victim=${PIDS[1]}
    else
      if [[ $mode == kill-mpi ]]; then
        "${mpi[@]}" -np 2 "$@" >"$log" 2>&1 &
        rank_var=OMPI_COMM_WORLD_RANK
      else
        torchrun_command torchrun 2 "$@"
        "${TORCHRUN[@]}" >"$log" 2>&1 &
        rank_var=RANK
      fi
      main=$!
      victim=""
      for ((t = 0; t < 600; ++t)); do  # rank 1: the child whose environment says so
        [[ -n $victim ]] && break
        for p in $(pgrep -P "$main"); do
          tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "$rank_var=1" && victim=$p
        done
        sleep 0.1
      done
    fi
    if [[ -z $victim ]] || ! wait_for_line "$log" "${KILL_AFTER_LINE:-tick 0 }"; then
      kill -9 $(pgrep -P "$main") ${PIDS[@]:-} "$main" 2>/dev/null
      cat "$log"
      exit 1
    fi
    sig=KILL
    [[ $mode == stop-env ]] && sig=STOP
    kill -s $sig "$victim"
    start=$SECONDS
    wait_bounded "$main" 90
    rc=$?
    kill -9 $(pgrep -P "$main") ${PIDS[@]:-} 2>/dev/null  # nothing may outlive the test
    wait 2>/dev/null
    took=$((SECONDS - start))
    cat "$log"
    echo "dist_launch: rank $([[ $mode == kill-root-env ]] && echo 0 || echo 1) got SIG$sig; the run stopped after $took s with exit status $rc"
    [[ $rc -ne 0 && $rc -ne 124 ]]
    ;;
  *)
    echo "dist_launch: unknown mode $mode" >&2
    exit 2
    ;;
esac
