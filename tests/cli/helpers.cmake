# Helpers of the program tests (tests/cli/*.cmake), included from
# CMakeLists.txt before them. A program test checks the program's exit status
# (ctest ignores it once a test has PASS_REGULAR_EXPRESSION, so none has) and
# works in a fixed folder of the build tree that it wipes first; tests that use
# another run's files name them directly, never "the newest run folder".
set(GF_CLI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(GF_TEST_RUNS ${CMAKE_BINARY_DIR}/test_runs)
# The smoke run of train_stylegan.cmake, whose snapshot and checkpoint the
# other program tests read.
set(GF_SMOKE_RUN ${GF_TEST_RUNS}/smoke/00000-fashion-mnist-tiny)
# Python 3 with PyTorch and NumPy (Debian's python3-torch), for the tests that
# run tools/*.py; the first python3 on PATH may have neither.
set(GF_PYTHON3 /usr/bin/python3 CACHE FILEPATH "Python 3 with PyTorch, for the tests that run tools/*.py")
# A NaN or infinity printed as a number.
set(GF_NONFINITE "[ -](nan|inf)( |$)")

# gf_cli_test(name [FRESH dir...] [EXPECT ere...] [REJECT ere...]
#             [FIXTURES_SETUP f] [FIXTURES_REQUIRED f...] COMMAND program args...):
# passes when the program exits 0, some output line matches each EXPECT and
# none matches a REJECT (tests/cli/check_run.sh); each FRESH folder is removed
# first. A program that exits 77 (a missing optional tool) is skipped.
function(gf_cli_test name)
  cmake_parse_arguments(A "" "FIXTURES_SETUP" "FRESH;EXPECT;REJECT;FIXTURES_REQUIRED;COMMAND" ${ARGN})
  set(args)
  foreach(d IN LISTS A_FRESH)
    list(APPEND args --fresh ${d})
  endforeach()
  foreach(re IN LISTS A_EXPECT)
    list(APPEND args --expect ${re})
  endforeach()
  foreach(re IN LISTS A_REJECT)
    list(APPEND args --reject ${re})
  endforeach()
  add_test(NAME cpu.${name} COMMAND sh ${GF_CLI_DIR}/check_run.sh ${args} -- ${A_COMMAND})
  set_tests_properties(cpu.${name} PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
  if(A_FIXTURES_SETUP)
    set_tests_properties(cpu.${name} PROPERTIES FIXTURES_SETUP ${A_FIXTURES_SETUP})
  endif()
  if(A_FIXTURES_REQUIRED)
    set_tests_properties(cpu.${name} PROPERTIES FIXTURES_REQUIRED "${A_FIXTURES_REQUIRED}")
  endif()
endfunction()

# gf_expect_error(name ere fixtures program args...): bad input ends with exit
# status 1 and one line on stderr matching ere (tests/cli/expect_error.sh).
function(gf_expect_error name regex fixtures)
  add_test(NAME cpu.${name} COMMAND sh ${GF_CLI_DIR}/expect_error.sh ${regex} ${ARGN})
  set_tests_properties(cpu.${name} PROPERTIES LABELS cpu)
  if(fixtures)
    set_tests_properties(cpu.${name} PROPERTIES FIXTURES_REQUIRED "${fixtures}")
  endif()
endfunction()
