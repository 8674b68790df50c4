# The fixtures of the program tests (included from CMakeLists.txt): the
# dependants of a skipped setup skip with it, and fail when it passed without
# its output (tests/cli/fixture_skips.sh, a throwaway project of
# tests/cli/helpers.cmake's gf_test, gf_cli_test and gf_expect_error).
add_test(NAME cpu.fixture_skips
         COMMAND sh ${GF_CLI_DIR}/fixture_skips.sh ${CMAKE_COMMAND} ${CMAKE_CTEST_COMMAND} ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/test_fixture_skips)
set_tests_properties(cpu.fixture_skips PROPERTIES LABELS cpu)
