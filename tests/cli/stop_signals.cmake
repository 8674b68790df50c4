# gf_tests run by hand with the stop signals blocked or ignored, as a shell
# may start it: its signal cases pass (tests/cli/blocked_stop_signals.py;
# ctest itself starts every test with them at their defaults and unblocked).
# Not in the emulated CUDA build, which compiles two of its three files not.
if(NOT GF_CUDA_EMU)
gf_test(cpu.blocked_stop_signals
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${GF_CLI_DIR}/blocked_stop_signals.py \
$<TARGET_FILE:gf_tests>")
set_tests_properties(cpu.blocked_stop_signals PROPERTIES PASS_REGULAR_EXPRESSION
                     "signal cases pass with the stop signals blocked or ignored")
endif()
