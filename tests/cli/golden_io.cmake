# tools/golden_io.py and the golden-data scripts (tests/test_golden_io.py):
# output folders made at the write; SIGINT and SIGTERM end a script by the
# signal, with no traceback and no temporary. Skipped (77) without PyTorch.
add_test(NAME cpu.golden_io
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_golden_io.py")
set_tests_properties(cpu.golden_io PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
