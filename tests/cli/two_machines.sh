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
# Node 0 gets --outdir OUTDIR, node 1 --outdir OUTDIR.node1, which must not
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

if [[ -z ${GF_TWO_MACHINES_NODE0:-} ]]; then  # on the host: become node 0
  for c in ip unshare nsenter; do
    command -v $c >/dev/null || skip "no $c (iproute2, util-linux)"
  done
  unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n needs CAP_SYS_ADMIN)"
  GF_TWO_MACHINES_NODE0=1 exec unshare -n "$0" "$mode" "$@"
fi

ip link set lo up 2>/dev/null || skip "cannot configure a network namespace (needs CAP_NET_ADMIN)"
unshare -n sleep 300 &  # node 1's namespace, held by this process
holder=$!
pids=()
logs=""
cleanup() {
  if ((${#pids[@]})); then  # torchrun's workers, then the launches
    kill -9 $(pgrep -P "$(IFS=,; echo "${pids[*]}")") "${pids[@]}" 2>/dev/null
  fi
  kill "$holder" 2>/dev/null
  wait 2>/dev/null
  [[ -z $logs ]] || rm -f "$logs" "$logs".*
}
trap cleanup EXIT
for ((t = 0; t < 100; ++t)); do  # until the holder has its own namespace
  [[ $(readlink /proc/$holder/ns/net) != "$(readlink /proc/self/ns/net)" ]] && break
  sleep 0.05
done
node1=(nsenter --net=/proc/$holder/ns/net)
ip link add gf0 type veth peer name gf1 netns /proc/$holder/ns/net 2>/dev/null || skip "cannot create a veth pair"
ip addr add 10.77.0.1/24 dev gf0 && ip link set gf0 up &&
  "${node1[@]}" sh -c 'ip link set lo up && ip addr add 10.77.0.2/24 dev gf1 && ip link set gf1 up' || {
  echo "two_machines: cannot address the veth pair" >&2
  exit 1
}
[[ $mode == check ]] && exit 0

outdir=$1
shift
rm -rf "$outdir.node1"
logs=$(mktemp)
case $mode in
  env)
    RANK=0 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.77.0.1 MASTER_PORT=29500 "$@" --outdir "$outdir" >"$logs.0" 2>&1 &
    pids+=($!)
    "${node1[@]}" env RANK=1 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.77.0.1 MASTER_PORT=29500 \
      "$@" --outdir "$outdir.node1" >"$logs.1" 2>&1 &
    pids+=($!)
    ;;
  torchrun)
    py=${PYTHON3:-/usr/bin/python3}
    "$py" -c 'import torch.distributed.run' 2>/dev/null || skip "$py cannot import torch.distributed.run (python3-torch)"
    # --redirects/--tee 9:1: see tests/cli/dist_launch.sh (torch 1.13 under Python 3.11).
    run=("$py" -m torch.distributed.run --redirects 9:1 --tee 9:1 --no_python --nnodes 2 --nproc_per_node 1
      --master_addr 10.77.0.1 --master_port 29500)
    "${run[@]}" --node_rank 0 "$@" --outdir "$outdir" >"$logs.0" 2>&1 &
    pids+=($!)
    "${node1[@]}" "${run[@]}" --node_rank 1 "$@" --outdir "$outdir.node1" >"$logs.1" 2>&1 &
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
for k in 0 1; do
  echo "== node $k (10.77.0.$((k + 1)))"
  cat "$logs.$k"
done
# Proof that the ranks talked over the link (node 1 reaches 10.77.0.1 no other way).
echo "two_machines: the veth link carried $(awk '$1 == "gf0:" { print $2 }' /proc/net/dev) bytes from node 1 to node 0"
if [[ -e $outdir.node1 ]]; then
  echo "two_machines: node 1 wrote $outdir.node1: only rank 0 may write"
  rc=1
else
  echo "two_machines: node 1 wrote no files"
fi
echo "two_machines: nodes 0 and 1 exited with statuses ${statuses[*]} after $((SECONDS - start)) s"
exit $rc
