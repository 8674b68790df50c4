# The benchmarks' flags: bad values and unknown flags are one line, exit 2
# (tests/cli/bench_flags.sh; the benchmarks themselves are not run).
gf_test(cpu.bench_flags COMMAND sh ${GF_CLI_DIR}/bench_flags.sh $<TARGET_FILE_DIR:bench_networks> ${GF_PYTHON3})
set_tests_properties(cpu.bench_flags PROPERTIES PASS_REGULAR_EXPRESSION "bench flags refused")
# Their FLOP figures: bench_networks' JSON consistent with its time, linear in
# the batch, and profile_step's count the same (tests/cli/bench_flops.py).
gf_test(cpu.bench_flops COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/bench_flops.py $<TARGET_FILE_DIR:bench_networks>)
set_tests_properties(cpu.bench_flops PROPERTIES PASS_REGULAR_EXPRESSION "bench flops consistent")
