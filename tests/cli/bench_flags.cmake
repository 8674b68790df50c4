# The benchmarks' flags: bad values and unknown flags are one line, exit 2
# (tests/cli/bench_flags.sh; the benchmarks themselves are not run).
gf_test(cpu.bench_flags COMMAND sh ${GF_CLI_DIR}/bench_flags.sh $<TARGET_FILE_DIR:bench_networks> ${GF_PYTHON3})
set_tests_properties(cpu.bench_flags PROPERTIES PASS_REGULAR_EXPRESSION "bench flags refused")
# Their FLOP figures: bench_networks' JSON consistent with its time, linear in
# the batch, and profile_step's count the same (tests/cli/bench_flops.py).
gf_test(cpu.bench_flops COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/bench_flops.py $<TARGET_FILE_DIR:bench_networks>)
set_tests_properties(cpu.bench_flops PROPERTIES PASS_REGULAR_EXPRESSION "bench flops consistent")
# bench/torch_vs_ganforge.py end to end, one short round (no time is judged):
# it passed --augpipe and --p to bench_networks with --aug noaug, which
# bench_networks refuses, so its default run always failed.
gf_test(cpu.torch_vs_ganforge_runs
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; OMP_NUM_THREADS=1 '${GF_PYTHON3}' \
${CMAKE_SOURCE_DIR}/bench/torch_vs_ganforge.py --cfg tiny --device cpu --threads 1 --minibatches 1 --warmup 0 \
--rounds 1 --ganforge $<TARGET_FILE:bench_networks> && '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/bench/torch_vs_ganforge.py \
--aug fixed --ganforge $<TARGET_FILE:bench_networks> 2>&1 | grep 'needs --p'")
set_tests_properties(cpu.torch_vs_ganforge_runs PROPERTIES SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "median: PyTorch .* ratio ganforge/PyTorch.*--aug fixed needs --p")
