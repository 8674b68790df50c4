# One process per device (engine/dist/), on the CPU (included from CMakeLists.txt).
# The same tiny run three ways: 2 in-process replicas (--gpus 2), mpirun -np 2,
# and the torchrun-style environment; their checkpoints and snapshots must be
# the same files byte for byte. Then a rank killed or hung mid-run must end
# the run with an error naming it, and a checkpoint of another replica count
# is refused. Each run: a few minibatches of a 12k-parameter G, with ADA (the
# default): 5 minibatches, so that one ADA interval (4) ends and p moves from
# the real signs gathered over both processes.
set(_dist ${CMAKE_BINARY_DIR}/test_runs_dist)
set(_launch ${CMAKE_SOURCE_DIR}/tests/cli/dist_launch.sh)
set(_dist_flags --cfg tiny --batch 8 --batch-gpu 2 --kimg 0.040 --tick 0.008 --snap 1 --max-images 64)
string(REPLACE ";" " " _dist_flags_sh "${_dist_flags}")
# The run folder under DIR: every run here goes to a folder its test wipes
# first, so it is the only run folder there, 00000-<desc> (its name varies
# with the flags, as train.py's: the shell's glob finds it).
set(_latest "${_dist}/DIR/00000-*/")

add_test(NAME cpu.train_stylegan_dist_inprocess
         COMMAND sh -c "rm -rf ${_dist}/inprocess && OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> ${_dist_flags_sh} \
--gpus 2 --outdir ${_dist}/inprocess")
set_tests_properties(cpu.train_stylegan_dist_inprocess PROPERTIES LABELS cpu FIXTURES_SETUP dist_inprocess
                     PASS_REGULAR_EXPRESSION "Done: ")

add_test(NAME cpu.train_stylegan_dist_env
         COMMAND sh -c "rm -rf ${_dist}/env && OMP_NUM_THREADS=1 ${_launch} env 2 $<TARGET_FILE:train_stylegan> ${_dist_flags_sh} \
--outdir ${_dist}/env")
set_tests_properties(cpu.train_stylegan_dist_env PROPERTIES LABELS cpu FIXTURES_SETUP dist_env
                     PASS_REGULAR_EXPRESSION "2 replicas x 2 passes of 2.*2 processes \\(tcp\\).*Done: ")

# torchrun itself (PyTorch's launcher, Debian's python3-torch; skipped, exit
# 77, without it): its default static rendezvous, whose agent holds
# MASTER_PORT for its own store (our rank 0 then listens on MASTER_PORT + 1),
# and its c10d rendezvous (as --standalone), whose agent leaves a free
# MASTER_PORT to the workers.
foreach(_mode torchrun torchrun-c10d)
  string(REPLACE "-" "_" _m "${_mode}")
  gf_test(cpu.train_stylegan_dist_${_m} FIXTURES_SETUP dist_${_m}
          COMMAND sh -c "rm -rf ${_dist}/${_m} && OMP_NUM_THREADS=1 PYTHON3='${GF_PYTHON3}' ${_launch} ${_mode} 2 \
$<TARGET_FILE:train_stylegan> ${_dist_flags_sh} --outdir ${_dist}/${_m}")
  set_tests_properties(cpu.train_stylegan_dist_${_m} PROPERTIES PASS_REGULAR_EXPRESSION "2 replicas x 2 passes of 2.*2 processes \\(tcp\\).*Done: ")
endforeach()

# Files compared: what every minibatch changes (weights, Adam moments, random
# offsets, sampler, counters) and the snapshot generate reads. Skipped with a
# run that was skipped (no torchrun, no network namespaces: gf_test).
function(gf_dist_same name a b fixtures)
  string(REPLACE "DIR" "${a}" _da "${_latest}")
  string(REPLACE "DIR" "${b}" _db "${_latest}")
  gf_test(${name} FIXTURES_REQUIRED ${fixtures}
          COMMAND sh -c "cmp ${_da}checkpoint.bin ${_db}checkpoint.bin && \
cmp ${_da}network-snapshot-000000.bin ${_db}network-snapshot-000000.bin && \
cmp ${_da}fakes000000.png ${_db}fakes000000.png && echo same")
  set_tests_properties(${name} PROPERTIES PASS_REGULAR_EXPRESSION "^same")
endfunction()
gf_dist_same(cpu.train_stylegan_dist_env_equals_inprocess env inprocess "dist_env;dist_inprocess")
# ADA's p moved in the two-process run (its checkpoint, compared above, also
# holds the real signs of the interval in progress, summed over both ranks).
string(REPLACE "DIR" "env" _denv "${_latest}")
add_test(NAME cpu.train_stylegan_dist_env_ada_p_moved COMMAND sh -c "tail -n 1 ${_denv}stats.jsonl")
set_tests_properties(cpu.train_stylegan_dist_env_ada_p_moved PROPERTIES LABELS cpu FIXTURES_REQUIRED dist_env
                     PASS_REGULAR_EXPRESSION "\"augment_p\":([1-9]|0\\.[0-9]*[1-9])")
gf_dist_same(cpu.train_stylegan_dist_torchrun_equals_inprocess torchrun inprocess "dist_torchrun;dist_inprocess")
# --record-draws with one process per replica: each rank writes its own files
# (draws-mb<K>-rank<R>.bin; they overwrote each other, and rank 1 named its
# draws as replica 0's), together the draws of --gpus 2; replaying them in
# one process, and the in-process log in two, trains the same network.
gf_test(cpu.train_stylegan_dist_record_draws
        COMMAND sh -c "d=${_dist}/draws && rm -rf $d && f='${_dist_flags_sh} --kimg 0.016' && export OMP_NUM_THREADS=1 && $<TARGET_FILE:train_stylegan> $f --gpus 2 --record-draws $d/inprocess --outdir $d/o_inprocess > $d.log 2>&1 && ${_launch} env 2 $<TARGET_FILE:train_stylegan> $f --record-draws $d/env --outdir $d/o_env >> $d.log 2>&1 && ls $d/env/draws-mb000000-rank1.bin > /dev/null && '${GF_PYTHON3}' ${GF_CLI_DIR}/same_draws.py $d/inprocess $d/env && $<TARGET_FILE:train_stylegan> $f --gpus 2 --replay-draws $d/env --outdir $d/o_replay1 >> $d.log 2>&1 && ${_launch} env 2 $<TARGET_FILE:train_stylegan> $f --replay-draws $d/inprocess --outdir $d/o_replay2 >> $d.log 2>&1 && for o in env replay1 replay2; do cmp $d/o_inprocess/00000-*/network-snapshot-000000.bin $d/o_$o/00000-*/network-snapshot-000000.bin || exit 1; done && echo replayed across launches")
set_tests_properties(cpu.train_stylegan_dist_record_draws PROPERTIES PASS_REGULAR_EXPRESSION "the same [0-9]+ draws.*replayed across launches")
gf_dist_same(cpu.train_stylegan_dist_torchrun_c10d_equals_inprocess torchrun_c10d inprocess
             "dist_torchrun_c10d;dist_inprocess")

# The README's two-machine launches, on two network namespaces of this host
# joined by a veth pair (tests/cli/two_machines.sh), each with its own host
# name (machine-b, machine-a) that /etc/hosts resolves: one process per
# "machine", by environment (rank 1 reaching rank 0 at 10.77.0.1 over that
# link), by torchrun's static rendezvous (--nnodes 2: its agent's store on
# 29500 of node 0, our rank 0 on 29501), by its c10d rendezvous, which puts
# rank 0 on node 1 (machine-a sorts first) and hands the workers
# MASTER_ADDR=machine-a, a host name, and by mpirun with a hostfile of both,
# whose daemon on machine-a is started by an "ssh" that enters node 1's
# namespaces. Skipped (77) where namespaces cannot be made. Not two physical machines: the two share this host's filesystem and
# kernel.
set(_two ${CMAKE_SOURCE_DIR}/tests/cli/two_machines.sh)
set(_node_rank0_env 0)
set(_node_rank0_torchrun 0)
set(_node_rank0_torchrun_c10d 1)
set(_node_rank0_mpirun 0)
set(_two_modes env torchrun torchrun-c10d)
if(GF_WITH_MPI AND GF_MPIEXEC)
  list(APPEND _two_modes mpirun)
endif()
foreach(_mode ${_two_modes})
  string(REPLACE "-" "_" _m "${_mode}")
  set(_r0 ${_node_rank0_${_m}})  # the node whose output holds rank 0's lines
  math(EXPR _other "1 - ${_r0}")
  gf_test(cpu.train_stylegan_dist_two_machines_${_m} FIXTURES_SETUP dist_two_machines_${_m}
          COMMAND sh -c "rm -rf ${_dist}/two_machines_${_m} && OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 \
GF_DIST_RENDEZVOUS_TIMEOUT=60 PYTHON3='${GF_PYTHON3}' MPIRUN='${GF_MPIEXEC}' ${_two} ${_mode} ${_dist}/two_machines_${_m} \
$<TARGET_FILE:train_stylegan> ${_dist_flags_sh}")
  if(_mode STREQUAL "mpirun")
    set(_group mpi)
    set(_node1 "mpirun's agent starts orted on machine-a")  # the remote daemon, by the "ssh"
    set(_exits "mpirun on node 0 exited with status 0 after")
  else()
    set(_group tcp)
    set(_node1 "")
    set(_exits "statuses 0 0 after")
  endif()
  set(_rank0_lines "2 replicas x 2 passes of 2.*2 processes \\(${_group}\\).*Done: ")
  if(_r0 EQUAL 0)
    set(_nodes "== node 0 .*${_rank0_lines}.*== node 1 .*${_node1}")
  else()
    set(_nodes "== node 0 .*== node 1 .*${_rank0_lines}")
  endif()
  set_tests_properties(cpu.train_stylegan_dist_two_machines_${_m} PROPERTIES TIMEOUT 300
                       PASS_REGULAR_EXPRESSION "${_nodes}.*carried [1-9][0-9][0-9][0-9]+ bytes from node 1.*node ${_other} wrote no files.*${_exits}")
endforeach()
gf_dist_same(cpu.train_stylegan_dist_two_machines_env_equals_inprocess two_machines_env inprocess
             "dist_two_machines_env;dist_inprocess")
gf_dist_same(cpu.train_stylegan_dist_two_machines_torchrun_equals_inprocess two_machines_torchrun inprocess
             "dist_two_machines_torchrun;dist_inprocess")
if(GF_WITH_MPI AND GF_MPIEXEC)
  gf_dist_same(cpu.train_stylegan_dist_two_machines_mpirun_equals_inprocess two_machines_mpirun inprocess
               "dist_two_machines_mpirun;dist_inprocess")
endif()
gf_dist_same(cpu.train_stylegan_dist_two_machines_torchrun_c10d_equals_inprocess two_machines_torchrun_c10d inprocess
             "dist_two_machines_torchrun_c10d;dist_inprocess")

# --metrics with one process per device: after each snapshot the two ranks
# share the feature passes (metrics/sharding.h) and rank 0 forms and writes
# the result, every wait under GF_DIST_METRICS_TIMEOUT, not GF_DIST_TIMEOUT
# (3 s here, less than one evaluation of the stand-in detector on one core).
# Two snapshots: tick 0 (then one more minibatch, after the wait) and the
# end. The jsonl results equal the in-process --gpus 2 run's bit for bit
# (G_ema has the same bits in both, and the shares are whole batches), and
# the lines say num_gpus 2 (the in-process run's, 1: one process evaluated),
# each run with a metrics cache of its own. The detector is
# tests/cli/metrics.cmake's.
set(_dm_detector ${GF_TEST_RUNS}/metrics/inception.bin)
set(_dm_flags --cfg tiny --batch 8 --batch-gpu 2 --kimg 0.016 --tick 0.008 --snap 1 --max-images 64
    --metrics fid50k_full --metric-items 16 --detector ${_dm_detector})
string(REPLACE ";" " " _dm_flags_sh "${_dm_flags}")
set(_dm_kinds inprocess env)
if(GF_WITH_MPI AND GF_MPIEXEC)
  list(APPEND _dm_kinds mpi)
endif()
foreach(_k ${_dm_kinds})
  if(_k STREQUAL "inprocess")
    set(_how "$<TARGET_FILE:train_stylegan> --gpus 2")
    set(_expect "Evaluating metrics.*Evaluating metrics.*Done: ")
  else()
    set(_how "GF_DIST_TIMEOUT=3 ${_launch} ${_k} 2 $<TARGET_FILE:train_stylegan>")
    set(_group tcp)
    if(_k STREQUAL "mpi")
      set(_group mpi)
    endif()
    set(_expect "2 processes \\(${_group}\\).*Evaluating metrics.*Evaluating metrics.*Done: ")
  endif()
  gf_test(cpu.train_stylegan_dist_metrics_${_k} FIXTURES_REQUIRED metrics_detector FIXTURES_SETUP dist_metrics_${_k}
          COMMAND sh -c "rm -rf ${_dist}/metrics_${_k} ${_dist}/metrics_${_k}_cache && OMP_NUM_THREADS=1 ${_how} \
${_dm_flags_sh} --metrics-cache ${_dist}/metrics_${_k}_cache --outdir ${_dist}/metrics_${_k}")
  set_tests_properties(cpu.train_stylegan_dist_metrics_${_k} PROPERTIES TIMEOUT 900 PASS_REGULAR_EXPRESSION "${_expect}")
endforeach()
string(REPLACE "DIR" "metrics_inprocess" _dmi "${_latest}")
foreach(_k ${_dm_kinds})
  if(_k STREQUAL "inprocess")
    continue()
  endif()
  string(REPLACE "DIR" "metrics_${_k}" _dmk "${_latest}")
  gf_test(cpu.train_stylegan_dist_metrics_${_k}_equals_inprocess FIXTURES_REQUIRED dist_metrics_${_k} dist_metrics_inprocess
          COMMAND sh -c "'${GF_PYTHON3}' ${GF_CLI_DIR}/same_metric_results.py ${_dmk}metric-fid50k_full.jsonl \
${_dmi}metric-fid50k_full.jsonl && cmp ${_dmk}checkpoint.bin ${_dmi}checkpoint.bin && echo same && \
echo shared by \$(grep -c '\"num_gpus\": 2,' ${_dmk}metric-fid50k_full.jsonl) of \$(grep -c . ${_dmk}metric-fid50k_full.jsonl) \
and \$(grep -c '\"num_gpus\": 1,' ${_dmi}metric-fid50k_full.jsonl)")
  set_tests_properties(cpu.train_stylegan_dist_metrics_${_k}_equals_inprocess PROPERTIES
                       PASS_REGULAR_EXPRESSION "network-snapshot-000000.bin: .*network-snapshot-000000.bin: .*same results.*same.*shared by 2 of 2 and 2")
endforeach()
# Every kind of metric the ranks share (KID and IS on the Inception stand-in,
# PR and PPL on the VGG16 stand-in of tests/cli/metrics.cmake), 10 items a
# side (two detector batches of 8 and 2 on the CPU: one a rank; PPL's 5
# path batches of 2: 3 and 2): each line says num_gpus 2, and calc_metrics
# (one process, its real features computed afresh) on the final snapshot
# gives every result bit for bit.
set(_dp_flags --metrics kid50k_full,is50k,pr50k3_full,ppl_wend --metric-items 10 --detector ${_dm_detector}
    --vgg16 ${GF_TEST_RUNS}/metrics_vgg/vgg16.bin)
string(REPLACE ";" " " _dp_flags_sh "${_dp_flags}")
list(REMOVE_ITEM _dm_kinds inprocess)
# By environment (TCP) only: under mpirun the same sharing code runs over
# MPI's collectives, which cpu.train_stylegan_dist_metrics_mpi runs (25 s saved).
foreach(_k env)
  string(REPLACE "DIR" "all_metrics_${_k}" _dpk "${_latest}")
  gf_test(cpu.train_stylegan_dist_all_metrics_${_k} FIXTURES_REQUIRED "metrics_detector;metrics_vgg16"
          COMMAND sh -c "rm -rf ${_dist}/all_metrics_${_k} ${_dist}/all_metrics_${_k}_cache && OMP_NUM_THREADS=1 \
GF_DIST_TIMEOUT=3 ${_launch} ${_k} 2 $<TARGET_FILE:train_stylegan> --cfg tiny --batch 8 --batch-gpu 2 --kimg 0.016 \
--tick 0.008 --snap 1 --max-images 64 ${_dp_flags_sh} \
--metrics-cache ${_dist}/all_metrics_${_k}_cache --outdir ${_dist}/all_metrics_${_k} && r=$(echo ${_dpk}) && \
for m in kid50k_full is50k pr50k3_full ppl_wend; do f=\${r}metric-$m.jsonl && \
test $(grep -c '\"num_gpus\": 2,' $f) -eq 2 && tail -n 1 $f | grep -o '\"results\": {[^}]*}' > $f.want || exit 1; done && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network \${r}network-snapshot-000000.bin ${_dp_flags_sh} \
--metrics-cache none && for m in kid50k_full is50k pr50k3_full ppl_wend; do f=\${r}metric-$m.jsonl && \
tail -n 1 $f | grep -q '\"num_gpus\": 1,' && tail -n 1 $f | grep -o '\"results\": {[^}]*}' | cmp - $f.want && \
echo \"$m: 2 ranks and 1 process: $(cat $f.want)\" || exit 1; done")
  set_tests_properties(cpu.train_stylegan_dist_all_metrics_${_k} PROPERTIES TIMEOUT 900 PASS_REGULAR_EXPRESSION
                       "kid50k_full: 2 ranks and 1 process: .*is50k: .*pr50k3_full: .*ppl_wend: 2 ranks and 1 process: \"results\": .\"ppl_wend\": [0-9]")
endforeach()
# calc_metrics launched as the trainers are (tools/calc_metrics.cpp, the
# set-up of train/process_group.h): a copy of the PR/PPL run's snapshot
# (tests/cli/metrics.cmake) in a run folder of its own, FID, KID, PR, PPL,
# SWD, its Reals2 row, MS-SSIM and LS (SWD, Reals2 and MS-SSIM rank 0's alone, LS's samples and fits shared; LS's
# tiny classifiers of tests/data take the grey 32x32 images as 8x8 RGB) at 10 items a side (two detector batches, one a rank; PR's distances: one
# block, rank 0's; their sharing over 1, 2 and 3 ranks is
# test_sharded_metrics's), by one process, then by 2 ranks by environment
# (TCP) and under mpirun: each jsonl line equals the one process's byte for
# byte but for its timing fields and num_gpus (2), and is printed once and
# appended once (rank 0 alone; the other rank prints no result).
set(_cm_run ${GF_TEST_RUNS}/metrics_vgg/train/00000-fashion-mnist-cond-subset64-tiny-kimg0.008)
set(_cm_net ${_cm_run}/network-snapshot-000000.bin)
set(_cm_flags --metrics fid50k_full,kid50k_full,pr50k3_full,ppl_wend,swd16k,swd16k_reals2,msssim20k,ls --metric-items 10
    --detector ${_dm_detector} --vgg16 ${GF_TEST_RUNS}/metrics_vgg/vgg16.bin --metrics-cache none
    --classifiers ${CMAKE_SOURCE_DIR}/tests/data/ls_classifiers.bin)
string(REPLACE ";" " " _cm_flags_sh "${_cm_flags}")
set(_cm ${GF_CLI_DIR}/calc_metrics_dist.sh)
gf_test(cpu.calc_metrics_dist_one FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run" FIXTURES_SETUP calc_metrics_dist_one
        COMMAND sh -c "OMP_NUM_THREADS=1 ${_cm} one ${_dist}/calc_one ${_cm_run} $<TARGET_FILE:calc_metrics> ${_cm_flags_sh}")
set_tests_properties(cpu.calc_metrics_dist_one PROPERTIES TIMEOUT 600 PASS_REGULAR_EXPRESSION "calc_metrics_dist: 8 metrics, each one line")
# Under mpirun KID alone: the same sharing code over MPI's collectives (the
# other three metrics' sharing is the env run's). Not FID, whose two
# eigendecompositions of 2048 x 2048 take 10 s of one core (20 s saved).
foreach(_k ${_dm_kinds})
  set(_group tcp)
  set(_args ${_cm_flags_sh})
  set(_want "same as one process: fid50k_full.*same as one process: kid50k_full.*same as one process: ls.*same as one process: msssim20k.*same as one process: ppl_wend.*same as one process: pr50k3_full.*same as one process: swd16k: .*same as one process: swd16k_reals2: .*calc_metrics_dist: 8 metrics")
  if(_k STREQUAL "mpi")
    set(_group mpi)
    set(_args "--metrics kid50k_full --metric-items 10 --detector ${_dm_detector} --metrics-cache none")
    set(_want "same as one process: kid50k_full.*calc_metrics_dist: 1 metrics")
  endif()
  gf_test(cpu.calc_metrics_dist_${_k} FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run;calc_metrics_dist_one"
          COMMAND sh -c "OMP_NUM_THREADS=1 SAME_AS=${_dist}/calc_one ${_cm} ${_k} ${_dist}/calc_${_k} ${_cm_run} \
$<TARGET_FILE:calc_metrics> ${_args}")
  set_tests_properties(cpu.calc_metrics_dist_${_k} PROPERTIES TIMEOUT 600 PASS_REGULAR_EXPRESSION
                       "2 processes \\(${_group}\\).*${_want}, each one line")
endforeach()
# The statistics cache is rank 0's alone: each rank given a cache folder of
# its own, only rank 0's is made (and filled). KID: the same cached real
# features as FID, without FID's 10 s of eigendecompositions.
gf_test(cpu.calc_metrics_dist_cache_rank0 FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run"
        COMMAND sh -c "d=${_dist}/calc_cache && rm -rf $d && mkdir -p $d && \
cp ${_cm_net} ${_cm_run}/training_options.json $d/ && RANK0_ARGS='--metrics-cache '$d/cache0 \
RANK1_ARGS='--metrics-cache '$d/cache1 OMP_NUM_THREADS=1 ${_launch} env 2 $<TARGET_FILE:calc_metrics> \
--network $d/network-snapshot-000000.bin --metrics kid50k_full --metric-items 10 --detector ${_dm_detector} && \
test $(grep -c . $d/metric-kid50k_full.jsonl) -eq 1 && test ! -e $d/cache1 && \
echo rank 0 cached $(find $d/cache0 -type f | wc -l) files")
set_tests_properties(cpu.calc_metrics_dist_cache_rank0 PROPERTIES TIMEOUT 300 PASS_REGULAR_EXPRESSION
                     "rank 0 cached [1-9][0-9]* files")
# A rank killed while the ranks evaluate (fid50k_full of 50k images: far
# longer than the test): rank 0 names it at once and stops (dist_launch.sh
# kill-env: within 90 s at most, non-zero).
gf_test(cpu.calc_metrics_dist_killed FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run"
        COMMAND sh -c "rm -rf ${_dist}/calc_killed && mkdir -p ${_dist}/calc_killed && cp ${_cm_net} ${_cm_run}/training_options.json ${_dist}/calc_killed/ && \
OMP_NUM_THREADS=1 KILL_AFTER_LINE='Evaluating metrics' ${_launch} kill-env $<TARGET_FILE:calc_metrics> \
--network ${_dist}/calc_killed/network-snapshot-000000.bin --metrics fid50k_full --detector ${_dm_detector} \
--metrics-cache none; test ! -e ${_dist}/calc_killed/metric-fid50k_full.jsonl && echo no result")
set_tests_properties(cpu.calc_metrics_dist_killed PROPERTIES TIMEOUT 400 PASS_REGULAR_EXPRESSION
                     "Evaluating metrics.*calc_metrics: error: rank 0: rank 1 (closed its connection|connection failed).*the run stopped after [0-9]+ s with exit status 1.*no result")
# The same under mpirun: mpirun names the killed rank and stops the job.
if(GF_WITH_MPI AND GF_MPIEXEC)
  gf_test(cpu.calc_metrics_dist_killed_mpi FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run"
          COMMAND sh -c "rm -rf ${_dist}/calc_killed_mpi && mkdir -p ${_dist}/calc_killed_mpi && \
cp ${_cm_net} ${_cm_run}/training_options.json ${_dist}/calc_killed_mpi/ && \
OMP_NUM_THREADS=1 KILL_AFTER_LINE='Evaluating metrics' ${_launch} kill-mpi $<TARGET_FILE:calc_metrics> \
--network ${_dist}/calc_killed_mpi/network-snapshot-000000.bin --metrics fid50k_full --detector ${_dm_detector} \
--metrics-cache none; test ! -e ${_dist}/calc_killed_mpi/metric-fid50k_full.jsonl && echo no result")
  set_tests_properties(cpu.calc_metrics_dist_killed_mpi PROPERTIES TIMEOUT 400 PASS_REGULAR_EXPRESSION
                       "Evaluating metrics.*rank 1 .*exited on signal 9.*the run stopped after [0-9]+ s with exit status.*no result")
endif()
# Ranks launched with other flags are refused by every rank before any
# work; so are ranks whose networks differ by content (one byte of rank 1's
# copy changed), and a rank that cannot set up (a detector it cannot load)
# stops every rank with its line.
gf_test(cpu.calc_metrics_dist_other_flags
        COMMAND sh -c "RANK1_ARGS='--seed 1' ${_launch} partial 2 2 $<TARGET_FILE:calc_metrics> --network x.bin \
--metrics fid50k_full --detector x.bin")
set_tests_properties(cpu.calc_metrics_dist_other_flags PROPERTIES TIMEOUT 200 PASS_REGULAR_EXPRESSION
                     "calc_metrics: error: rank 0: rank 1's run differs from rank 0's: --seed.*calc_metrics: error: rank 1: rank 1's run differs from rank 0's: --seed.*exited with statuses 1 1 after")
gf_test(cpu.calc_metrics_dist_other_network FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run"
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; rm -rf ${_dist}/calc_other && mkdir -p ${_dist}/calc_other && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py ${_cm_net} ${_dist}/calc_other/other.bin --flip-last-byte && cp ${_cm_net} ${_dist}/calc_other/same.bin && \
cp ${_cm_run}/training_options.json ${_dist}/calc_other/ && \
RANK0_ARGS='--network ${_dist}/calc_other/same.bin' RANK1_ARGS='--network ${_dist}/calc_other/other.bin' ${_launch} partial 2 2 \
$<TARGET_FILE:calc_metrics> --metrics fid50k_full --metric-items 10 --detector ${_dm_detector} --metrics-cache none")
set_tests_properties(cpu.calc_metrics_dist_other_network PROPERTIES TIMEOUT 300 PASS_REGULAR_EXPRESSION
                     "calc_metrics: error: rank 0: rank 1's run differs from rank 0's: --network content.*exited with statuses 1 1 after")
gf_test(cpu.calc_metrics_dist_rank1_cannot_set_up FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run"
        COMMAND sh -c "RANK0_ARGS='--detector ${_dm_detector}' RANK1_ARGS='--detector ${CMAKE_SOURCE_DIR}/README.md' \
${_launch} partial 2 2 $<TARGET_FILE:calc_metrics> --network ${_cm_net} --metrics fid50k_full --metric-items 10 \
--metrics-cache none")
set_tests_properties(cpu.calc_metrics_dist_rank1_cannot_set_up PROPERTIES TIMEOUT 300 PASS_REGULAR_EXPRESSION
                     "calc_metrics: error: rank 0: rank 1 could not set up, so no rank evaluates: .*README.md.*exited with statuses 1 1 after")
# PPL's labels come from the run's --max-images subset where the run folder's
# training_options.json records it: a rank whose copy lacks subset_seed would
# draw from the whole dataset, and is named before any work.
gf_test(cpu.calc_metrics_dist_ppl_labels_differ FIXTURES_REQUIRED "metrics_detector;metrics_ppl_run"
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_dist}/calc_ppl_labels && rm -rf $d && mkdir -p $d/a $d/b && \
cp ${_cm_net} $d/a/ && cp ${_cm_net} $d/b/ && cp ${_cm_run}/training_options.json $d/a/ && \
'${GF_PYTHON3}' -c \"import json, sys; o = json.load(open(sys.argv[1])); del o['subset_seed']; json.dump(o, open(sys.argv[2], 'w'))\" \
${_cm_run}/training_options.json $d/b/training_options.json && \
RANK0_ARGS=\"--network $d/a/network-snapshot-000000.bin\" RANK1_ARGS=\"--network $d/b/network-snapshot-000000.bin\" ${_launch} partial 2 2 \
$<TARGET_FILE:calc_metrics> --metrics ppl_wend --metric-items 4 --vgg16 ${GF_TEST_RUNS}/metrics_vgg/vgg16.bin --metrics-cache none")
set_tests_properties(cpu.calc_metrics_dist_ppl_labels_differ PROPERTIES TIMEOUT 300 PASS_REGULAR_EXPRESSION
                     "calc_metrics: error: rank 0: rank 1's run differs from rank 0's: PPL labels.*exited with statuses 1 1 after")
# Rank 0 killed while it evaluates (once it says so): rank 1, waiting for it
# under GF_DIST_METRICS_TIMEOUT's default of a day, names it at once (its
# connection closes).
gf_test(cpu.train_stylegan_dist_metrics_killed_root FIXTURES_REQUIRED metrics_detector
        COMMAND sh -c "rm -rf ${_dist}/metrics_killed_root ${_dist}/metrics_killed_root_cache && OMP_NUM_THREADS=1 \
KILL_AFTER_LINE='Evaluating metrics' ${_launch} kill-root-env $<TARGET_FILE:train_stylegan> ${_dm_flags_sh} --metrics-cache ${_dist}/metrics_killed_root_cache \
--outdir ${_dist}/metrics_killed_root")
set_tests_properties(cpu.train_stylegan_dist_metrics_killed_root PROPERTIES TIMEOUT 400
                     PASS_REGULAR_EXPRESSION "Evaluating metrics.*train_stylegan: error: rank 1: rank 0 (closed its connection|connection failed).*the run stopped after [0-9] s with exit status 1")
# A detector rank 0 cannot load: every rank stops with rank 0's line, before
# training (no hang, no run folder). --dry-run with metrics: rank 0 prints
# the options, every rank exits 0.
gf_test(cpu.train_stylegan_dist_metrics_bad_detector
        COMMAND sh -c "rm -rf ${_dist}/metrics_bad && ${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> --cfg tiny \
--metrics fid50k_full --detector ${CMAKE_SOURCE_DIR}/README.md --outdir ${_dist}/metrics_bad; \
test ! -e ${_dist}/metrics_bad && echo no run folder")
set_tests_properties(cpu.train_stylegan_dist_metrics_bad_detector PROPERTIES TIMEOUT 200
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: .*README.md.*train_stylegan: error: rank 1: rank 0 refused the metrics, so no rank trains: .*README.md.*exited with statuses 1 1 after.*no run folder")
# Every rank loads the detectors (each evaluates a share): one that rank 1
# alone cannot load stops every rank before training, rank 0 naming rank 1;
# detectors whose weights differ between the ranks (one byte of rank 1's
# copy changed) are refused by every rank as runs that differ.
gf_test(cpu.train_stylegan_dist_metrics_rank1_bad_detector FIXTURES_REQUIRED metrics_detector
        COMMAND sh -c "rm -rf ${_dist}/metrics_bad1 && RANK0_ARGS='--detector ${_dm_detector}' \
RANK1_ARGS='--detector ${CMAKE_SOURCE_DIR}/README.md' ${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> --cfg tiny \
--metrics fid50k_full --outdir ${_dist}/metrics_bad1; test ! -e ${_dist}/metrics_bad1 && echo no run folder")
set_tests_properties(cpu.train_stylegan_dist_metrics_rank1_bad_detector PROPERTIES TIMEOUT 200
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 1 refused the metrics, so no rank trains: .*README.md.*train_stylegan: error: .*README.md.*exited with statuses 1 1 after.*no run folder")
gf_test(cpu.train_stylegan_dist_metrics_other_weights FIXTURES_REQUIRED metrics_detector
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; rm -rf ${_dist}/metrics_other && mkdir -p ${_dist}/metrics_other_detector && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py ${_dm_detector} ${_dist}/metrics_other_detector/inception.bin --flip-last-byte && RANK0_ARGS='--detector ${_dm_detector}' \
RANK1_ARGS='--detector ${_dist}/metrics_other_detector/inception.bin' ${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> \
--cfg tiny --metrics fid50k_full --outdir ${_dist}/metrics_other; test ! -e ${_dist}/metrics_other && echo no run folder")
set_tests_properties(cpu.train_stylegan_dist_metrics_other_weights PROPERTIES TIMEOUT 200
                     PASS_REGULAR_EXPRESSION "error: rank 0: rank 1's run differs from rank 0's: --detector weights.*error: rank 1: rank 1's run differs.*exited with statuses 1 1 after.*no run folder")
gf_test(cpu.train_stylegan_dist_metrics_dry_run FIXTURES_REQUIRED metrics_detector
        COMMAND sh -c "rm -rf ${_dist}/metrics_dry && ${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> --cfg tiny \
--metrics fid50k_full --detector ${_dm_detector} --dry-run --outdir ${_dist}/metrics_dry; \
test ! -e ${_dist}/metrics_dry && echo no run folder")
set_tests_properties(cpu.train_stylegan_dist_metrics_dry_run PROPERTIES TIMEOUT 200
                     PASS_REGULAR_EXPRESSION "fid50k_full.*Dry run. exiting.*exited with statuses 0 0 after.*no run folder")

# A rank that is killed (rank 1, or rank 0): the survivor names it at once
# (its connection closes). One that hangs: named when GF_DIST_TIMEOUT runs out.
set(_long_flags --cfg tiny --kimg 100 --tick 0.004 --snap 0 --max-images 64)
string(REPLACE ";" " " _long_flags_sh "${_long_flags}")
add_test(NAME cpu.train_stylegan_dist_killed_rank_env
         COMMAND sh -c "OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 ${_launch} kill-env $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--outdir ${_dist}/killed_env")
set_tests_properties(cpu.train_stylegan_dist_killed_rank_env PROPERTIES LABELS cpu TIMEOUT 400
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 1 (closed its connection|connection failed).*the run stopped after [0-9] s with exit status 1")
# Under torchrun: rank 0 names the killed rank before torchrun's agent ends the run.
add_test(NAME cpu.train_stylegan_dist_killed_rank_torchrun
         COMMAND sh -c "OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 PYTHON3='${GF_PYTHON3}' ${_launch} kill-torchrun \
$<TARGET_FILE:train_stylegan> ${_long_flags_sh} --outdir ${_dist}/killed_torchrun")
set_tests_properties(cpu.train_stylegan_dist_killed_rank_torchrun PROPERTIES LABELS cpu TIMEOUT 400 SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 1 (closed its connection|connection failed).*the run stopped after [0-9]+ s with exit status 1")
add_test(NAME cpu.train_stylegan_dist_killed_root_env
         COMMAND sh -c "OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 ${_launch} kill-root-env $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--outdir ${_dist}/killed_root_env")
set_tests_properties(cpu.train_stylegan_dist_killed_root_env PROPERTIES LABELS cpu TIMEOUT 400
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 1: rank 0 (closed its connection|connection failed).*the run stopped after [0-9] s with exit status 1")
# A stop signal: a terminal's Ctrl-C (every rank's SIGINT) or a SIGTERM to
# one rank stops every rank at the same step; rank 0's folder records it
# (log.txt, report.html "Stopped") and each rank ends by the signal.
foreach(_case "INT;all;SIGINT on rank 0;130 130" "TERM;1;SIGTERM on rank 1;143 143")
  list(GET _case 0 _sig)
  list(GET _case 1 _who)
  list(GET _case 2 _said)
  list(GET _case 3 _statuses)
  set(_d ${_dist}/signal_${_sig})
  add_test(NAME cpu.train_stylegan_dist_sig${_sig}_stops_every_rank
           COMMAND sh -c "rm -rf ${_d} && OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 ${_launch} signal-env ${_sig} ${_who} $<TARGET_FILE:train_stylegan> ${_long_flags_sh} --outdir ${_d} && tail -n 1 ${_d}/*/log.txt && grep -o 'Stopped: [^<]*' ${_d}/*/report.html")
  set_tests_properties(cpu.train_stylegan_dist_sig${_sig}_stops_every_rank PROPERTIES LABELS cpu TIMEOUT 400
                       PASS_REGULAR_EXPRESSION "error: Interrupted by ${_said}\n(.*\n)?train_stylegan: error: Interrupted by ${_said}\n.*statuses ${_statuses} after [0-9] s\ntrain_stylegan: error: Interrupted by ${_said}\nStopped: Interrupted by ${_said}")
endforeach()
# The README's loops by environment, run as a script and stopped by a
# Ctrl-C to its group: their trap passes it on as SIGTERM (the ranks, started
# with &, ignore SIGINT and trained on to the end).
gf_test(cpu.train_stylegan_dist_readme_loop_ctrl_c
        COMMAND sh -c "rm -rf ${_dist}/readme_loop && OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 ${_launch} readme-loop ${CMAKE_SOURCE_DIR}/README.md $<TARGET_FILE:train_stylegan> ${_long_flags_sh} --outdir ${_dist}/readme_loop && tail -n 1 ${_dist}/readme_loop/*/log.txt")
set_tests_properties(cpu.train_stylegan_dist_readme_loop_ctrl_c PROPERTIES TIMEOUT 400
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: Interrupted by SIGTERM on rank 0\n.*ranks ended in [0-9] s.*\ntrain_stylegan: error: Interrupted by SIGTERM on rank 0")
# A rank that never starts: the rendezvous's own limit (not GF_DIST_TIMEOUT's
# 600 s) ends the start; rank 0 names the missing rank, the rank that joined
# learns the start failed. Ranks 0 and 1 of 3; rank 2 never starts.
add_test(NAME cpu.train_stylegan_dist_rank_never_starts
         COMMAND sh -c "GF_DIST_RENDEZVOUS_TIMEOUT=2 ${_launch} partial 3 2 $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--outdir ${_dist}/never_starts")
set_tests_properties(cpu.train_stylegan_dist_rank_never_starts PROPERTIES LABELS cpu TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 2 of 3 did not join within 2 s \\(GF_DIST_RENDEZVOUS_TIMEOUT\\).*train_stylegan: error: rank 1: rank 0 closed its connection.*during the rendezvous.*exited with statuses 1 1 after [2-9] s")
# Ranks launched with different flags (the user's --cfg tiny and --cfg small)
# or with different inputs behind the same flags (another --resume file, one
# byte apart): every rank refuses at the start with one line naming the first
# item that differs and both values, before any run folder or training step.
gf_test(cpu.train_stylegan_dist_ranks_differ_in_flags
        COMMAND sh -c "rm -rf ${_dist}/differ_flags && OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=30 RANK1_ARGS='--cfg small' \
${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> ${_dist_flags_sh} --outdir ${_dist}/differ_flags; \
ls ${_dist}/differ_flags 2>/dev/null | grep . || echo 'no run folder'")
set_tests_properties(cpu.train_stylegan_dist_ranks_differ_in_flags PROPERTIES TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 1's run differs from rank 0's: --cfg 'small' vs 'tiny'.*train_stylegan: error: rank 1: rank 1's run differs from rank 0's: --cfg 'small' vs 'tiny' .*exited with statuses 1 1 after .*no run folder")
gf_test(cpu.train_stylegan_dist_ranks_differ_in_resume_file FIXTURES_REQUIRED trained_snapshot
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_dist}/differ_resume && rm -rf $d && mkdir -p $d && s=${GF_SMOKE_RUN}/network-snapshot-000000.bin && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py $s $d/other.bin --flip-last-byte && \
{ cmp -s $s $d/other.bin && echo 'the copy is unchanged'; \
OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=30 RANK1_ARGS=\"--resume $d/other.bin\" ${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> \
${_dist_flags_sh} --resume $s --outdir $d/runs; ls $d/runs 2>/dev/null | grep . || echo 'no run folder'; }")
set_tests_properties(cpu.train_stylegan_dist_ranks_differ_in_resume_file PROPERTIES TIMEOUT 120
                     FAIL_REGULAR_EXPRESSION "the copy is unchanged"
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 1's run differs from rank 0's: --resume content '[0-9a-f]+' vs '[0-9a-f]+'.*train_stylegan: error: rank 1: rank 1's run differs from rank 0's: --resume content .*exited with statuses 1 1 after .*no run folder")
# The same --resume file at another path on rank 1 (another machine's mount):
# paths count only as given or not and the contents are compared, so the run
# trains.
gf_test(cpu.train_stylegan_dist_resume_at_other_paths FIXTURES_REQUIRED trained_snapshot
        COMMAND sh -c "d=${_dist}/resume_paths && rm -rf $d && mkdir -p $d && s=${GF_SMOKE_RUN}/network-snapshot-000000.bin && \
cp $s $d/copy.bin && OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 RANK1_ARGS=\"--resume $d/copy.bin\" ${_launch} partial 2 2 \
$<TARGET_FILE:train_stylegan> ${_dist_flags_sh} --kimg 0.008 --resume $s --outdir $d/runs")
set_tests_properties(cpu.train_stylegan_dist_resume_at_other_paths PROPERTIES TIMEOUT 120
                     FAIL_REGULAR_EXPRESSION "differs from rank 0"
                     PASS_REGULAR_EXPRESSION "Done: ")
# --resume on one rank only: refused with the flags, before either rank reads it.
gf_test(cpu.train_stylegan_dist_resume_on_one_rank FIXTURES_REQUIRED trained_snapshot
        COMMAND sh -c "rm -rf ${_dist}/resume_one && OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=30 \
RANK1_ARGS='--resume ${GF_SMOKE_RUN}/network-snapshot-000000.bin' ${_launch} partial 2 2 $<TARGET_FILE:train_stylegan> \
${_dist_flags_sh} --outdir ${_dist}/resume_one; ls ${_dist}/resume_one 2>/dev/null | grep . || echo 'no run folder'")
set_tests_properties(cpu.train_stylegan_dist_resume_on_one_rank PROPERTIES TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: rank 1's run differs from rank 0's: --resume 'a path' vs ''.*train_stylegan: error: rank 1: rank 1's run differs from rank 0's: --resume 'a path' vs ''.*exited with statuses 1 1 after .*no run folder")
# --gpus against the launcher's process count: refused by a lone rank at once,
# not after the rendezvous's limit (rank 1 of 2 never starts).
gf_test(cpu.train_stylegan_dist_gpus_mismatch_alone
        COMMAND sh -c "GF_DIST_RENDEZVOUS_TIMEOUT=60 ${_launch} partial 2 1 $<TARGET_FILE:train_stylegan> ${_dist_flags_sh} --gpus 3 \
--outdir ${_dist}/gpus_alone")
set_tests_properties(cpu.train_stylegan_dist_gpus_mismatch_alone PROPERTIES TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: --gpus 3 does not match the 2 processes launched.*exited with statuses 1 after [0-9] s")
add_test(NAME cpu.train_stylegan_dist_hung_rank_env
         COMMAND sh -c "OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=5 ${_launch} stop-env $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--outdir ${_dist}/hung_env")
set_tests_properties(cpu.train_stylegan_dist_hung_rank_env PROPERTIES LABELS cpu TIMEOUT 400
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: no data from rank 1 for 5 s \\(GF_DIST_TIMEOUT\\).*the run stopped after ([5-9]|1[0-9]) s with exit status 1")
# Connections that are no rank during the rendezvous (a port scan, a health
# check): an HTTP request ended rank 0 at once ("a process joined as rank
# 1414012975 of 825184340"), a silent one held it up to its 120 s limit.
gf_test(cpu.train_stylegan_dist_stray_connections
        COMMAND ${GF_CLI_DIR}/stray_connections.sh ${GF_PYTHON3} $<TARGET_FILE:train_stylegan> --cfg tiny --batch 8
                --batch-gpu 2 --kimg 0.008 --max-images 64 --outdir ${_dist}/stray)
set_tests_properties(cpu.train_stylegan_dist_stray_connections PROPERTIES TIMEOUT 120 PASS_REGULAR_EXPRESSION
                     "rank 0: warning: closed a connection on port [0-9]+ \\(MASTER_PORT\\) that is no ganforge rank.*Done: .*statuses 0 0 after")
# Launcher variables that describe no group, or a group a program cannot
# train in, are refused by each process at once. Before: RANK alone, or an
# empty WORLD_SIZE, ran a whole lone run; train_pggan, train_psp and
# --arch stylegan under WORLD_SIZE 2 trained two whole runs; WORLD_SIZE 1
# took --gpus 2 as two in-process replicas.
set(_env ${CMAKE_COMMAND} -E env)
set(_lone_flags --cfg tiny --max-images 16 --outdir ${_dist}/refused)
# WORLD_SIZE without MASTER_ADDR or MASTER_PORT (torch's env:// refuses
# both): an empty or forgotten MASTER_ADDR on a second machine was taken as
# 127.0.0.1 and waited out the rendezvous.
gf_expect_error(launch_no_master_addr "^train_stylegan: error: WORLD_SIZE is set but MASTER_ADDR is not \\(the torchrun-style launch needs rank 0's address and port" ""
                ${_env} RANK=1 WORLD_SIZE=2 MASTER_PORT=29500 $<TARGET_FILE:train_stylegan> ${_lone_flags})
gf_expect_error(launch_empty_master_addr "^train_stylegan: error: WORLD_SIZE is set but MASTER_ADDR is empty" ""
                ${_env} RANK=1 WORLD_SIZE=2 MASTER_ADDR= MASTER_PORT=29500 $<TARGET_FILE:train_stylegan> ${_lone_flags})
gf_expect_error(launch_no_master_port "^train_stylegan: error: WORLD_SIZE is set but MASTER_PORT is not" ""
                ${_env} RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 $<TARGET_FILE:train_stylegan> ${_lone_flags})
gf_expect_error(launch_rank_without_world_size "^train_stylegan: error: RANK is set but WORLD_SIZE is not" ""
                ${_env} RANK=1 $<TARGET_FILE:train_stylegan> ${_lone_flags})
gf_expect_error(launch_empty_world_size "^train_stylegan: error: environment variable WORLD_SIZE is set but empty" ""
                ${_env} RANK=0 WORLD_SIZE= $<TARGET_FILE:train_stylegan> ${_lone_flags})
gf_expect_error(launch_mpi_and_world_size_disagree "^train_stylegan: error: mpirun started 2 processes, but WORLD_SIZE is 3" ""
                ${_env} OMPI_COMM_WORLD_SIZE=2 WORLD_SIZE=3 RANK=0 $<TARGET_FILE:train_stylegan> ${_lone_flags})
gf_expect_error(launch_gpus_against_one_process "^train_stylegan: error: --gpus 2 does not match the 1 process launched" ""
                ${_env} RANK=0 WORLD_SIZE=1 $<TARGET_FILE:train_stylegan> ${_lone_flags} --gpus 2)
gf_expect_error(launch_v1_multi_process "^train_stylegan: error: train_stylegan --arch stylegan trains in one process, but was launched as 2 processes" ""
                ${_env} RANK=0 WORLD_SIZE=2 $<TARGET_FILE:train_stylegan> --arch stylegan ${_lone_flags})
gf_expect_error(launch_pggan_multi_process "^train_pggan: error: train_pggan trains in one process, but was launched as 2 processes" ""
                ${_env} RANK=1 WORLD_SIZE=2 $<TARGET_FILE:train_pggan> ${_lone_flags})
gf_expect_error(launch_psp_multi_process "^train_psp: error: train_psp trains in one process, but was launched as 2 processes" ""
                ${_env} OMPI_COMM_WORLD_SIZE=2 $<TARGET_FILE:train_psp> --outdir ${_dist}/refused)
# The smoke run's checkpoint (one replica) under two processes.
gf_test(cpu.train_stylegan_dist_resume_other_world FIXTURES_REQUIRED trained_snapshot
        COMMAND sh -c "OMP_NUM_THREADS=1 ${_launch} env 2 $<TARGET_FILE:train_stylegan> --resume ${GF_SMOKE_RUN}/checkpoint.bin --max-images 128 --outdir ${_dist}/other_world")
set_tests_properties(cpu.train_stylegan_dist_resume_other_world PROPERTIES
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: .*checkpoint.bin was trained by 1 replica. this run has 2 processes: resume it with 1")

if(GF_WITH_MPI AND GF_MPIEXEC)
  add_test(NAME cpu.train_stylegan_dist_mpi
           COMMAND sh -c "rm -rf ${_dist}/mpi && OMP_NUM_THREADS=1 ${_launch} mpi 2 $<TARGET_FILE:train_stylegan> ${_dist_flags_sh} \
--outdir ${_dist}/mpi")
  set_tests_properties(cpu.train_stylegan_dist_mpi PROPERTIES LABELS cpu FIXTURES_SETUP dist_mpi
                       PASS_REGULAR_EXPRESSION "2 replicas x 2 passes of 2.*2 processes \\(mpi\\).*Done: ")
  gf_dist_same(cpu.train_stylegan_dist_mpi_equals_inprocess mpi inprocess "dist_mpi;dist_inprocess")
  gf_dist_same(cpu.train_stylegan_dist_env_equals_mpi env mpi "dist_env;dist_mpi")
  # The in-process run's checkpoint (5 minibatches, one into the second ADA
  # interval), resumed by 2 MPI ranks for three more, ends as an in-process
  # run of 8 minibatches: every rank's random offset, the networks, p and the
  # interval's real signs carry over.
  add_test(NAME cpu.train_stylegan_dist_straight8
           COMMAND sh -c "rm -rf ${_dist}/straight8 && OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> ${_dist_flags_sh} \
--gpus 2 --kimg 0.064 --outdir ${_dist}/straight8")
  set_tests_properties(cpu.train_stylegan_dist_straight8 PROPERTIES LABELS cpu FIXTURES_SETUP dist_straight8
                       PASS_REGULAR_EXPRESSION "Done: ")
  string(REPLACE "DIR" "inprocess" _din "${_latest}")
  add_test(NAME cpu.train_stylegan_dist_mpi_resume
           COMMAND sh -c "rm -rf ${_dist}/mpi_resume && OMP_NUM_THREADS=1 ${_launch} mpi 2 $<TARGET_FILE:train_stylegan> \
--resume ${_din}checkpoint.bin --kimg 0.064 --tick 0.008 --snap 1 --max-images 64 --outdir ${_dist}/mpi_resume")
  set_tests_properties(cpu.train_stylegan_dist_mpi_resume PROPERTIES LABELS cpu FIXTURES_REQUIRED dist_inprocess
                       FIXTURES_SETUP dist_mpi_resume PASS_REGULAR_EXPRESSION "resumed from .*Done: ")
  string(REPLACE "DIR" "straight8" _ds8 "${_latest}")
  string(REPLACE "DIR" "mpi_resume" _dmr "${_latest}")
  add_test(NAME cpu.train_stylegan_dist_mpi_resume_is_exact
           COMMAND sh -c "cmp ${_ds8}checkpoint.bin ${_dmr}checkpoint.bin && echo same")
  set_tests_properties(cpu.train_stylegan_dist_mpi_resume_is_exact PROPERTIES LABELS cpu
                       FIXTURES_REQUIRED "dist_straight8;dist_mpi_resume" PASS_REGULAR_EXPRESSION "^same")
  add_test(NAME cpu.train_stylegan_dist_killed_rank_mpi
           COMMAND sh -c "OMP_NUM_THREADS=1 GF_DIST_TIMEOUT=60 ${_launch} kill-mpi $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--outdir ${_dist}/killed_mpi")
  set_tests_properties(cpu.train_stylegan_dist_killed_rank_mpi PROPERTIES LABELS cpu TIMEOUT 400
                       PASS_REGULAR_EXPRESSION "rank 1 .*exited on signal 9.*the run stopped after [0-9]+ s with exit status")
endif()

# The NCCL path (engine/dist/nccl_communicator.cpp, unchanged) in the CUDA
# emulator's build, on its NCCL (tools/cuda_emu/include/nccl.h): one process
# per emulated device, as on GPUs; label cuda, so scripts/test_emulated_cuda.sh
# runs them. The same tiny run as above, in process (--gpus 2) and as 2
# processes (by environment, under mpirun, on two namespaced "machines"); a
# killed rank and a stopped one; the all-reduce benchmark as a run test. Never a GPU's NCCL: see docs/ARCHITECTURE.md.
if(GF_CUDA_EMU)
  set(_emu "GFEMU_DEVICES=2 OMP_NUM_THREADS=1")
  # Two minibatches without augmentation: under the sanitizers every emulated
  # thread of the augmentation's kernels is a loop iteration, and 5 ADA
  # minibatches took 80-140 s per run. ADA on (emulated) CUDA is the [cuda]
  # trainer test; its gather over processes, the cpu runs above.
  # (The killed and hung ranks below train with ADA: they stop early.)
  set(_emu_flags --cfg tiny --batch 8 --batch-gpu 2 --kimg 0.016 --tick 0.008 --snap 1 --max-images 64 --aug noaug)
  string(REPLACE ";" " " _emu_flags_sh "${_emu_flags}")
  add_test(NAME cuda.train_stylegan_nccl_inprocess
           COMMAND sh -c "rm -rf ${_dist}/emu_inprocess && ${_emu} $<TARGET_FILE:train_stylegan> ${_emu_flags_sh} \
--gpus 2 --device cuda:0 --outdir ${_dist}/emu_inprocess")
  set_tests_properties(cuda.train_stylegan_nccl_inprocess PROPERTIES LABELS cuda FIXTURES_SETUP emu_inprocess
                       PASS_REGULAR_EXPRESSION "Done: ")
  add_test(NAME cuda.train_stylegan_nccl_env
           COMMAND sh -c "rm -rf ${_dist}/emu_env && ${_emu} ${_launch} env 2 $<TARGET_FILE:train_stylegan> ${_emu_flags_sh} \
--device cuda:0 --outdir ${_dist}/emu_env")
  set_tests_properties(cuda.train_stylegan_nccl_env PROPERTIES LABELS cuda FIXTURES_SETUP emu_env
                       PASS_REGULAR_EXPRESSION "2 replicas x 2 passes of 2.*2 processes \\(nccl over tcp\\).*Done: ")
  # The emulated NCCL sums in rank order, as the in-process replicas do, and
  # every rank divides as all_reduce_mean divides their sum: the same bits.
  gf_dist_same(cuda.train_stylegan_nccl_env_equals_inprocess emu_env emu_inprocess "emu_env;emu_inprocess")
  set_tests_properties(cuda.train_stylegan_nccl_env_equals_inprocess PROPERTIES LABELS cuda)
  # Under mpirun: the NCCL communicator over the MPI host group, which carries
  # the unique id (engine/dist/mpi_communicator.cpp); the same bits. Without
  # LeakSanitizer: Open MPI's libraries leave ~120 kB allocated at exit, with
  # one-frame stacks in its unloaded components that no suppression can name;
  # the same code of ours runs leak-checked in cuda.train_stylegan_nccl_env.
  if(GF_WITH_MPI AND GF_MPIEXEC)
    add_test(NAME cuda.train_stylegan_nccl_mpi
             COMMAND sh -c "rm -rf ${_dist}/emu_mpi && ${_emu} ASAN_OPTIONS=detect_leaks=0 ${_launch} mpi 2 $<TARGET_FILE:train_stylegan> ${_emu_flags_sh} \
--device cuda:0 --outdir ${_dist}/emu_mpi")
    set_tests_properties(cuda.train_stylegan_nccl_mpi PROPERTIES LABELS cuda FIXTURES_SETUP emu_mpi
                         PASS_REGULAR_EXPRESSION "2 replicas x 2 passes of 2.*2 processes \\(nccl over mpi\\).*Done: "
                         FAIL_REGULAR_EXPRESSION "non-zero (exit code|status)|Sanitizer")
    gf_dist_same(cuda.train_stylegan_nccl_mpi_equals_inprocess emu_mpi emu_inprocess "emu_mpi;emu_inprocess")
    set_tests_properties(cuda.train_stylegan_nccl_mpi_equals_inprocess PROPERTIES LABELS cuda)
  endif()
  # The README's two-machine launch by environment (tests/cli/two_machines.sh,
  # one emulated device per "machine"): rank 0's NCCL id carries its veth
  # address (NCCL_SOCKET_IFNAME=gf names the interface, as a two-machine run
  # names its network's), which rank 1 reaches from the other namespace.
  # Skipped (77) where namespaces cannot be made, as the cpu ones, when the
  # test runs (not when CMake configured: root may configure, a user run);
  # scripts/test_emulated_cuda.sh, which allows no skipped test, leaves these
  # two out only where its own check finds no namespaces.
  gf_test(cuda.train_stylegan_nccl_two_machines FIXTURES_SETUP emu_two_machines
          COMMAND sh -c "rm -rf ${_dist}/emu_two_machines && GFEMU_DEVICES=1 OMP_NUM_THREADS=1 NCCL_SOCKET_IFNAME=gf \
GF_DIST_TIMEOUT=60 GF_DIST_RENDEZVOUS_TIMEOUT=60 ${_two} env ${_dist}/emu_two_machines $<TARGET_FILE:train_stylegan> \
${_emu_flags_sh} --device cuda:0")
  set_tests_properties(cuda.train_stylegan_nccl_two_machines PROPERTIES LABELS cuda TIMEOUT 400
                       PASS_REGULAR_EXPRESSION "== node 0 .*2 replicas x 2 passes of 2.*2 processes \\(nccl over tcp\\).*Done: .*== node 1 .*carried [1-9][0-9][0-9][0-9]+ bytes from node 1.*node 1 wrote no files.*statuses 0 0 after")
  gf_dist_same(cuda.train_stylegan_nccl_two_machines_equals_inprocess emu_two_machines emu_inprocess
               "emu_two_machines;emu_inprocess")
  set_tests_properties(cuda.train_stylegan_nccl_two_machines_equals_inprocess PROPERTIES LABELS cuda)
  # No NCCL run of the two-machine mpirun: its parts run each elsewhere (NCCL's
  # id over the MPI host group: cuda.train_stylegan_nccl_mpi; the id's veth
  # address across the namespaces: cuda.train_stylegan_nccl_two_machines;
  # mpirun's agent across them: cpu.train_stylegan_dist_two_machines_mpirun),
  # and it cost CI 30 s under the sanitizers.
  # A killed rank: the survivor's watchdog sees NCCL's async error (or, when
  # it waits in a host collective then, the TCP group sees the connection
  # close); either way one line naming rank 1, at once.
  add_test(NAME cuda.train_stylegan_nccl_killed_rank
           COMMAND sh -c "${_emu} GF_DIST_TIMEOUT=60 ${_launch} kill-env $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--device cuda:0 --outdir ${_dist}/emu_killed")
  set_tests_properties(cuda.train_stylegan_nccl_killed_rank PROPERTIES LABELS cuda TIMEOUT 400
                       PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: (NCCL all-reduce of [0-9]+ values failed: .*)?rank 1 (closed its connection|connection failed).*the run stopped after [0-9] s with exit status 1")
  # A rank whose NCCL start fails (the emulator's GFEMU_NCCL_FAIL_INIT): rank 0,
  # blocked in ncclCommInitRank, which never notices, names it as soon as its
  # TCP connection closes (the watchdog looks), not after the rendezvous limit
  # (60 s here, which the bound of the seconds stays well under).
  add_test(NAME cuda.train_stylegan_nccl_rank_fails_init
           COMMAND sh -c "${_emu} GFEMU_NCCL_FAIL_INIT=1 GF_DIST_RENDEZVOUS_TIMEOUT=60 ${_launch} partial 2 2 \
$<TARGET_FILE:train_stylegan> ${_long_flags_sh} --device cuda:0 --outdir ${_dist}/emu_fails_init")
  set_tests_properties(cuda.train_stylegan_nccl_rank_fails_init PROPERTIES LABELS cuda TIMEOUT 200
                       PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: ncclCommInitRank \\(NCCL's start[^)]*\\) stopped: rank 1 closed its tcp connection.*rank 1 fails on purpose.*exited with statuses 1 1 after ([0-9]|1[0-9]) s")
  # A stopped rank: the all-reduce in flight (or the host collective) times out.
  add_test(NAME cuda.train_stylegan_nccl_hung_rank
           COMMAND sh -c "${_emu} GF_DIST_TIMEOUT=5 ${_launch} stop-env $<TARGET_FILE:train_stylegan> ${_long_flags_sh} \
--device cuda:0 --outdir ${_dist}/emu_hung")
  set_tests_properties(cuda.train_stylegan_nccl_hung_rank PROPERTIES LABELS cuda TIMEOUT 400
                       PASS_REGULAR_EXPRESSION "train_stylegan: error: rank 0: (NCCL all-reduce of [0-9]+ values did not finish within 5 s \\(GF_DIST_TIMEOUT\\): rank 1 \\(the other rank\\) hangs or is gone|no data from rank 1 for 5 s \\(GF_DIST_TIMEOUT\\)).*the run stopped after ([5-9]|1[0-9]) s with exit status 1")
  add_test(NAME cuda.bench_allreduce_nccl
           COMMAND sh -c "${_emu} ${_launch} env 2 $<TARGET_FILE:bench_allreduce> --quick --small")
  set_tests_properties(cuda.bench_allreduce_nccl PROPERTIES LABELS cuda
                       PASS_REGULAR_EXPRESSION "bench_allreduce: 2 ranks \\(nccl over tcp\\).*small 32x32x1 +D")
endif()
