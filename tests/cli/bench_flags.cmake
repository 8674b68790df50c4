# The benchmarks' flags: bad values and unknown flags are one line, exit 2
# (tests/cli/bench_flags.sh; the benchmarks themselves are not run).
gf_test(cpu.bench_flags COMMAND sh ${GF_CLI_DIR}/bench_flags.sh $<TARGET_FILE_DIR:bench_networks> ${GF_PYTHON3})
set_tests_properties(cpu.bench_flags PROPERTIES PASS_REGULAR_EXPRESSION "bench flags refused")
