# The scripts' usage errors: exit 2 and one line naming the flag, before any
# work (a --steps name is matched literally: 'c*' was taken as a pattern) (bash's ${2:?} gave its own text and 1); install_deps.sh --help prints
# its header and installs nothing.
gf_test(cpu.scripts_usage
        COMMAND sh -c "s=${CMAKE_SOURCE_DIR}/scripts && usage() { want=$1; shift; out=$(\"$@\" 2>&1); rc=$?; \
if [ $rc -ne 2 ] || [ \"$out\" != \"$want\" ]; then echo \"FAILED: $* -> $rc: $out\"; exit 1; fi; } && \
usage 'gpu_check: --steps needs a value (see --help)' bash $s/gpu_check.sh --steps && \
usage 'gpu_check: --budget needs a value (see --help)' bash $s/gpu_check.sh --budget && \
usage \"gpu_check: unknown argument '--bogus' (see --help)\" bash $s/gpu_check.sh --bogus && \
usage \"gpu_check: no step 'c*' (see --help)\" bash $s/gpu_check.sh --steps 'c*' && \
usage \"gpu_check: no step 'env deps' (see --help)\" bash $s/gpu_check.sh --steps 'env deps' && \
usage 'gpu_check_dryrun: --root needs a folder' bash $s/gpu_check_dryrun.sh --root && \
usage 'install_deps: unknown option --bogus (see --help)' bash $s/install_deps.sh --bogus && \
bash $s/install_deps.sh --help | head -n 1 | grep -q '^Installs what ganforge needs' && echo usage checked")
set_tests_properties(cpu.scripts_usage PROPERTIES PASS_REGULAR_EXPRESSION "usage checked")
# gpu_check.sh with no time left for its build chain checks nothing: exit 1,
# not a success with every step skipped (a reviewer's --budget 1 run).
gf_test(cpu.gpu_check_chain_out_of_budget
        COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_gpu_check_budget && rm -rf $d && \
OUT=$d/out GPU_CHECK_BUILD_DIR=$d/build bash ${CMAKE_SOURCE_DIR}/scripts/gpu_check.sh --dry-run --budget 1 > $d.log 2>&1; \
rc=$?; grep -q 'env not run (out of budget): the remaining steps need it, not run' $d.log && [ $rc -eq 1 ] && echo chain checked")
set_tests_properties(cpu.gpu_check_chain_out_of_budget PROPERTIES PASS_REGULAR_EXPRESSION "chain checked")
