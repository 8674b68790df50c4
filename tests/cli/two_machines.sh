#!/usr/bin/env bash
# Two "machines" on one host, for the README's two-node launches
# (tests/cli/distributed.cmake): two network namespaces, each with its own
# loopback, joined by a veth pair, node 0 at 10.77.0.1/24 and node 1 at
# 10.77.0.2/24, so a rank on node 1 reaches node 0 only over that link, as
# over a network (they share the filesystem, unlike two machines; that is
# where a rank other than 0 writing a file would show).
#   two_machines.sh check                       exits 0 when namespaces and veth can be made here, else 77
#   two_machines.sh env OUTDIR PROGRAM ARGS...  one process per node by environment: RANK 0/1,
#                                               LOCAL_RANK=0 on both, WORLD_SIZE=2,
#                                               MASTER_ADDR=10.77.0.1, MASTER_PORT=29500
#   two_machines.sh torchrun OUTDIR PROGRAM ARGS...  PyTorch's torchrun on each node
#                                               (--nnodes 2 --node_rank K --nproc_per_node 1
#                                               --master_addr 10.77.0.1 --master_port 29500, static
#                                               rendezvous); exits 77 when $PYTHON3 (default
#                                               /usr/bin/python3) has no torch
#   two_machines.sh torchrun-c10d OUTDIR PROGRAM ARGS...  torchrun's c10d rendezvous on each node
#                                               (--rdzv_backend c10d --rdzv_endpoint 10.77.0.1:29400),
#                                               which numbers the nodes itself: see below
#   two_machines.sh mpirun OUTDIR PROGRAM ARGS...  Open MPI's $MPIRUN (default mpirun) on node 0 with a hostfile of
#                                               machine-b and machine-a, 1 slot each; the "ssh" that
#                                               starts its daemon on machine-a is this script
#                                               (rsh-agent) entering node 1's namespaces; exits 77
#                                               without mpirun
# Each node has its own host name, which /etc/hosts (bound over in this
# script's mount namespace) resolves to its address: node 0 is machine-b,
# node 1 machine-a. torchrun's c10d rendezvous gives rank 0 to the node whose
# host name sorts first (torch 1.13: _NodeDesc order), so there rank 0 is on
# node 1, and the workers get MASTER_ADDR=machine-a, a name to resolve, from
# node 1's agent. The node that runs rank 0 (node 0, or node 1 under c10d)
# gets --outdir OUTDIR; the other OUTDIR.node1 or OUTDIR.node0, which must not
# exist afterwards (rank 0 alone writes). Prints node 0's output, node 1's,
# then their exit statuses; exits 0 only when both exited 0 within 240 s.
# Exits 77 (skipped) where namespaces cannot be made (no CAP_SYS_ADMIN /
# CAP_NET_ADMIN, no veth, no iproute2).
#
# The namespaces have no names (no /run/netns entry) and the veth pair exists
# only inside them: nothing on the host's network changes, parallel runs
# cannot collide (each has its own 10.77.0.0/24 and port 29500), and all of it
# goes away with the processes: node 0 is this script's own namespace (it
# re-executes itself under `unshare -n`), node 1 lives as long as a holder
# process, which the EXIT trap kills and which ends by itself after 300 s.
set -u
mode=$1
shift
limit=240  # seconds each node's launch may take

skip() {
  echo "two_machines: skipped: $*"
  exit 77
}

if [[ $mode == rsh-agent ]]; then  # mpirun's "ssh HOST COMMAND" to node 1
  [[ $1 == machine-a ]] || { echo "two_machines: rsh-agent: no machine $1" >&2; exit 255; }
  shift
  daemon=unknown  # the program the command line starts (after an optional PATH=... ; export ...)
  for w in $*; do [[ ${w##*/} == orted ]] && daemon=orted && break; done
  echo "two_machines: mpirun's agent starts $daemon on machine-a" >>"$GF_TWO_MACHINES_NODE1_LOG"
  # A fresh environment, as an ssh login's: what the ranks need comes by mpirun -x.
  exec env -i PATH="$PATH" HOME="${HOME:-/}" \
    nsenter --net=/proc/$GF_TWO_MACHINES_NODE1/ns/net --uts=/proc/$GF_TWO_MACHINES_NODE1/ns/uts sh -c "$*"
fi
if [[ -z ${GF_TWO_MACHINES_NODE0:-} ]]; then  # on the host: become node 0
  for c in ip unshare nsenter; do
    command -v $c >/dev/null || skip "no $c (iproute2, util-linux)"
  done
  unshare -n -u -m true 2>/dev/null || skip "cannot create network, host name and mount namespaces (unshare needs CAP_SYS_ADMIN)"
  GF_TWO_MACHINES_NODE0=1 exec unshare -n -u -m "$0" "$mode" "$@"
fi
unset GF_TWO_MACHINES_NODE0
# The variable only says unshare made these namespaces; check, before the host's
# /etc/hosts and host name could be changed (the launcher's are the host's).
if [[ $(readlink /proc/self/ns/uts) == "$(readlink /proc/$PPID/ns/uts)" ||
      $(readlink /proc/self/ns/mnt) == "$(readlink /proc/$PPID/ns/mnt)" ]]; then
  echo "two_machines: not in namespaces of its own (GF_TWO_MACHINES_NODE0 was set by its caller?): refusing to rename the host" >&2
  exit 2
fi

ip link set lo up 2>/dev/null || skip "cannot configure a network namespace (needs CAP_NET_ADMIN)"
# Both nodes' names, for this mount namespace only (unshare -m makes its
# mounts private: the host's /etc/hosts is untouched).
hosts=$(mktemp)
printf '127.0.0.1 localhost\n10.77.0.1 machine-b\n10.77.0.2 machine-a\n' >"$hosts"
mount --bind "$hosts" /etc/hosts 2>/dev/null && hostname machine-b
named=$?
rm -f "$hosts"  # the bind mount keeps the file while the namespace lives
((named == 0)) || skip "cannot give node 0 its own /etc/hosts and host name"
unshare -n -u sleep 300 &  # node 1's network and host name namespaces, held by this process
holder=$!
pids=()
logs=""
cleanup() {
  if ((${#pids[@]})); then  # torchrun's workers, then the launches
    kill -9 $(pgrep -P "$(IFS=,; echo "${pids[*]}")") "${pids[@]}" 2>/dev/null
  fi
  kill "$holder" 2>/dev/null
  wait 2>/dev/null
  [[ -z $logs ]] || rm -rf "$logs" "$logs".*
}
trap cleanup EXIT
for ((t = 0; t < 100; ++t)); do  # until the holder has its own namespace
  [[ $(readlink /proc/$holder/ns/net) != "$(readlink /proc/self/ns/net)" ]] && break
  sleep 0.05
done
if [[ $(readlink /proc/$holder/ns/net) == "$(readlink /proc/self/ns/net)" ]]; then
  echo "two_machines: node 1's namespaces did not appear within 5 s" >&2
  exit 1
fi
node1=(nsenter --net=/proc/$holder/ns/net --uts=/proc/$holder/ns/uts)
"${node1[@]}" hostname machine-a || skip "cannot name node 1"
ip link add gf0 type veth peer name gf1 netns /proc/$holder/ns/net 2>/dev/null || skip "cannot create a veth pair"
ip addr add 10.77.0.1/24 dev gf0 && ip link set gf0 up &&
  "${node1[@]}" sh -c 'ip link set lo up && ip addr add 10.77.0.2/24 dev gf1 && ip link set gf1 up' || {
  echo "two_machines: cannot address the veth pair" >&2
  exit 1
}
[[ $mode == check ]] && exit 0

outdir=$1
shift
rank0_node=0  # the node that runs rank 0 gets OUTDIR
[[ $mode == torchrun-c10d ]] && rank0_node=1
dirs=("$outdir" "$outdir.node1")
((rank0_node == 0)) || dirs=("$outdir.node0" "$outdir")
quiet=${dirs[1 - rank0_node]}  # the other node's, which must stay unwritten
rm -rf "$quiet"
logs=$(mktemp)
case $mode in
  env)
    RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.77.0.1 MASTER_PORT=29500 "$@" --outdir "${dirs[0]}" >"$logs.0" 2>&1 &
    pids+=($!)
    "${node1[@]}" env RANK=1 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.77.0.1 MASTER_PORT=29500 \
      "$@" --outdir "${dirs[1]}" >"$logs.1" 2>&1 &
    pids+=($!)
    ;;
  torchrun | torchrun-c10d)
    py=${PYTHON3:-/usr/bin/python3}
    "$py" -c 'import torch.distributed.run' 2>/dev/null || skip "$py cannot import torch.distributed.run (python3-torch)"
    # --redirects/--tee 9:1: see tests/cli/dist_launch.sh (torch 1.13 under Python 3.11).
    # --log_dir: torchrun's agent never removes its log folder; this one goes with $logs.
    run=("$py" -m torch.distributed.run --redirects 9:1 --tee 9:1 --no_python --nnodes 2 --nproc_per_node 1
      --log_dir "$logs.torchrun")
    if [[ $mode == torchrun ]]; then
      node_args=("--node_rank 0" "--node_rank 1")
      run+=(--master_addr 10.77.0.1 --master_port 29500)
    else  # the node ranks are c10d's to give
      node_args=("" "")
      run+=(--rdzv_backend c10d --rdzv_endpoint 10.77.0.1:29400 --rdzv_id "gf$$")
    fi
    "${run[@]}" ${node_args[0]} "$@" --outdir "${dirs[0]}" >"$logs.0" 2>&1 &
    pids+=($!)
    "${node1[@]}" "${run[@]}" ${node_args[1]} "$@" --outdir "${dirs[1]}" >"$logs.1" 2>&1 &
    pids+=($!)
    ;;
  mpirun)
    # Open MPI reaches node 1 as over ssh: its remote agent here is this
    # script entering node 1's namespaces (an ssh would log in to machine-a).
    mpirun=${MPIRUN:-mpirun}
    command -v "$mpirun" >/dev/null || skip "no $mpirun (openmpi-bin)"
    hostfile=$logs.hosts
    printf 'machine-b slots=1\nmachine-a slots=1\n' >"$hostfile"
    : >"$logs.1"
    export GF_TWO_MACHINES_NODE1=$holder GF_TWO_MACHINES_NODE1_LOG=$logs.1
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    # The agent gives node 1 a fresh environment, as ssh would: the run's
    # variables go to the ranks by -x, as the README's command passes NCCL_SOCKET_IFNAME.
    forward=()
    for v in NCCL_SOCKET_IFNAME GFEMU_DEVICES GFEMU_ORDER GF_DIST_TIMEOUT GF_DIST_RENDEZVOUS_TIMEOUT \
      OMP_NUM_THREADS OMP_WAIT_POLICY GF_POISON_ALLOCATIONS ASAN_OPTIONS UBSAN_OPTIONS; do
      [[ -n ${!v+set} ]] && forward+=(-x "$v")
    done
    # OpenBLAS's kernel choice (OPENBLAS_CORETYPE, set on some machines) picks
    # the GEMM's bits: two machines must choose alike to train alike.
    for v in $(compgen -e | grep '^OPENBLAS_'); do forward+=(-x "$v"); done
    "$mpirun" -np 2 --hostfile "$hostfile" --bind-to none --mca plm_rsh_agent "$(realpath "$0") rsh-agent" \
      ${forward[@]+"${forward[@]}"} "$@" --outdir "${dirs[0]}" >"$logs.0" 2>&1 &
    pids+=($!)
    ;;
  *)
    echo "two_machines: unknown mode $mode" >&2
    exit 2
    ;;
esac

start=$SECONDS
statuses=() rc=0
for p in "${pids[@]}"; do
  while kill -0 "$p" 2>/dev/null && ((SECONDS - start < limit)); do sleep 0.2; done
  if kill -0 "$p" 2>/dev/null; then
    kill -9 $(pgrep -P "$p") "$p" 2>/dev/null  # torchrun's worker first: once its parent is gone, pgrep -P cannot find it
    wait "$p" 2>/dev/null
    statuses+=(timeout) rc=1
    continue
  fi
  wait "$p"
  s=$?
  statuses+=($s)
  ((s == 0)) || rc=1
done
names=(machine-b machine-a)
for k in 0 1; do
  echo "== node $k (10.77.0.$((k + 1)), ${names[k]})"
  cat "$logs.$k"
done
# Proof that the ranks talked over the link (node 1 reaches 10.77.0.1 no other way).
echo "two_machines: the veth link carried $(awk '$1 == "gf0:" { print $2 }' /proc/net/dev) bytes from node 1 to node 0"
other=$((1 - rank0_node))
if [[ -e $quiet ]]; then
  echo "two_machines: node $other wrote $quiet: only rank 0 (node $rank0_node) may write"
  rc=1
else
  echo "two_machines: node $other wrote no files"
fi
if [[ $mode == mpirun ]]; then
  echo "two_machines: mpirun on node 0 exited with status ${statuses[*]} after $((SECONDS - start)) s"
else
  echo "two_machines: nodes 0 and 1 exited with statuses ${statuses[*]} after $((SECONDS - start)) s"
fi
exit $rc
