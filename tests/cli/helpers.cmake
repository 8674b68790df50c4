# Helpers of the program tests (tests/cli/*.cmake), included from
# CMakeLists.txt before them. A program test checks the program's exit status
# (ctest ignores it once a test has PASS_REGULAR_EXPRESSION, so none has) and
# works in a fixed folder of the build tree that it wipes first; tests that use
# another run's files name them directly, never "the newest run folder".
set(GF_CLI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(GF_TEST_RUNS ${CMAKE_BINARY_DIR}/test_runs)
# The smoke run of train_stylegan.cmake, whose snapshot and checkpoint the
# other program tests read.
set(GF_SMOKE_RUN ${GF_TEST_RUNS}/smoke/00000-fashion-mnist-subset128-tiny-kimg0.032)
# Python 3 with PyTorch and NumPy (Debian's python3-torch), for the tests that
# run tools/*.py; the first python3 on PATH may have neither.
set(GF_PYTHON3 /usr/bin/python3 CACHE FILEPATH "Python 3 with PyTorch, for the tests that run tools/*.py")
# A NaN or infinity printed as a number.
set(GF_NONFINITE "[ -](nan|inf)( |$)")

# Markers of skipped fixtures (tests/cli/fixture_gate.sh): "<fixture>.skipped".
set(GF_FIXTURE_MARKS ${CMAKE_BINARY_DIR}/test_fixtures)

# gf_test(test [FIXTURES_SETUP f] [FIXTURES_REQUIRED f...] COMMAND program args...):
# the ctest entry test (label cpu, exit status 77 = skipped). A test with
# fixtures runs behind tests/cli/fixture_gate.sh: it is skipped when a fixture
# it requires was skipped, and as a setup it marks its fixture skipped when it
# is, so that ctest, which runs the dependants of a skipped setup anyway,
# reports them skipped instead of failed on missing files. Other properties
# (PASS_REGULAR_EXPRESSION, TIMEOUT) may be set afterwards; fixtures only
# here (gf_check_fixture_gates refuses others).
function(gf_test name)
  # Each argument is read as given (ARGV<i>) and passed to add_test as a
  # bracket argument: forwarding ${ARGN} would split "sh -c" scripts at their
  # semicolons and join arguments after an unbalanced "[" in a regex.
  set(mode "")
  set(setup)
  set(required)
  set(command "")
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE 1 ${last})
    set(arg "${ARGV${i}}")
    if(mode STREQUAL "COMMAND")
      if(arg MATCHES "]=====]")
        message(FATAL_ERROR "gf_test(${name}): an argument holds ]=====]")
      endif()
      string(APPEND command " [=====[${arg}]=====]")
    elseif(arg STREQUAL "FIXTURES_SETUP" OR arg STREQUAL "FIXTURES_REQUIRED" OR arg STREQUAL "COMMAND")
      set(mode "${arg}")
    elseif(mode STREQUAL "FIXTURES_SETUP")
      list(APPEND setup ${arg})
    elseif(mode STREQUAL "FIXTURES_REQUIRED")
      list(APPEND required ${arg})
    else()
      message(FATAL_ERROR "gf_test(${name}): unexpected argument '${arg}'")
    endif()
  endforeach()
  if(command STREQUAL "")
    message(FATAL_ERROR "gf_test(${name}): no COMMAND")
  endif()
  set(gate "")
  if(setup OR required)
    set(gate "sh [=====[${GF_CLI_DIR}/fixture_gate.sh]=====] [=====[${GF_FIXTURE_MARKS}]=====] [=====[${name}]=====]")
    foreach(f IN LISTS setup)
      string(APPEND gate " --setup ${f}")
    endforeach()
    foreach(f IN LISTS required)
      string(APPEND gate " --requires ${f}")
    endforeach()
    string(APPEND gate " --")
  endif()
  cmake_language(EVAL CODE "add_test(NAME [=====[${name}]=====] COMMAND ${gate}${command})")
  set_tests_properties(${name} PROPERTIES LABELS cpu SKIP_RETURN_CODE 77
                       GF_GATE_SETUP "${setup}" GF_GATE_REQUIRED "${required}")
  if(setup)
    set_tests_properties(${name} PROPERTIES FIXTURES_SETUP "${setup}")
  endif()
  if(required)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${required}")
  endif()
endfunction()

# gf_cli_test(name [FRESH dir...] [EXPECT ere...] [REJECT ere...]
#             [FIXTURES_SETUP f] [FIXTURES_REQUIRED f...] COMMAND program args...):
# passes when the program exits 0, some output line matches each EXPECT and
# none matches a REJECT (tests/cli/check_run.sh); each FRESH folder is removed
# first. A program that exits 77 (a missing optional tool) is skipped, and so
# is the test when a fixture it requires was skipped (gf_test).
function(gf_cli_test name)
  # Arguments read as given, as in gf_test.
  set(mode "")
  set(fixtures "")
  set(checks "")
  set(command "")
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE 1 ${last})
    set(arg "${ARGV${i}}")
    if(arg MATCHES "]=====]")
      message(FATAL_ERROR "gf_cli_test(${name}): an argument holds ]=====]")
    endif()
    if(mode STREQUAL "COMMAND")
      string(APPEND command " [=====[${arg}]=====]")
    elseif(arg MATCHES "^(FRESH|EXPECT|REJECT|FIXTURES_SETUP|FIXTURES_REQUIRED|COMMAND)$")
      set(mode "${arg}")
      if(mode MATCHES "^FIXTURES_")
        string(APPEND fixtures " ${mode}")
      endif()
    elseif(mode MATCHES "^(FRESH|EXPECT|REJECT)$")
      string(TOLOWER "${mode}" option)
      string(APPEND checks " --${option} [=====[${arg}]=====]")
    elseif(mode MATCHES "^FIXTURES_")
      string(APPEND fixtures " [=====[${arg}]=====]")
    else()
      message(FATAL_ERROR "gf_cli_test(${name}): unexpected argument '${arg}'")
    endif()
  endforeach()
  cmake_language(EVAL CODE "gf_test(cpu.${name}${fixtures} COMMAND sh [=====[${GF_CLI_DIR}/check_run.sh]=====]${checks} --${command})")
endfunction()

# gf_expect_error(name ere fixtures program args...): bad input ends with exit
# status 1 and one line on stderr matching ere (tests/cli/expect_error.sh);
# skipped when one of fixtures was (gf_test).
function(gf_expect_error name regex fixtures)
  set(command " [=====[${regex}]=====]")
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE 3 ${last})  # the program and its arguments, read as given (as in gf_test)
    set(arg "${ARGV${i}}")
    if(arg MATCHES "]=====]" OR regex MATCHES "]=====]")
      message(FATAL_ERROR "gf_expect_error(${name}): an argument holds ]=====]")
    endif()
    string(APPEND command " [=====[${arg}]=====]")
  endforeach()
  cmake_language(EVAL CODE "gf_test(cpu.${name} FIXTURES_REQUIRED ${fixtures}
                            COMMAND sh [=====[${GF_CLI_DIR}/expect_error.sh]=====]${command})")
endfunction()

# Called once every test is defined: a fixture whose setup may be skipped
# (SKIP_RETURN_CODE 77) must be set up, and required, only through gf_test, or
# its dependants would fail where they should skip. Fails the configure
# naming each test that is not.
function(gf_check_fixture_gates)
  get_property(tests DIRECTORY PROPERTY TESTS)
  set(skippable)
  foreach(t IN LISTS tests)
    get_test_property(${t} FIXTURES_SETUP setup)
    get_test_property(${t} SKIP_RETURN_CODE skip)
    if(setup AND skip STREQUAL "77")
      foreach(f IN LISTS setup)
        if(f IN_LIST skippable)
          message(SEND_ERROR "${t}: fixture ${f} has two setup tests; its skip marker needs one (tests/cli/fixture_gate.sh)")
        endif()
      endforeach()
      list(APPEND skippable ${setup})
      get_test_property(${t} GF_GATE_SETUP gated)
      if(NOT "${gated}" STREQUAL "${setup}")
        message(SEND_ERROR "${t}: a setup test that may be skipped (FIXTURES_SETUP ${setup}) must be defined by gf_test "
                           "with FIXTURES_SETUP (tests/cli/helpers.cmake), so that its dependants skip with it")
      endif()
    endif()
  endforeach()
  foreach(t IN LISTS tests)
    get_test_property(${t} FIXTURES_REQUIRED required)
    if(NOT required)
      continue()
    endif()
    set(needs_gate FALSE)
    foreach(f IN LISTS required)
      if(f IN_LIST skippable)
        set(needs_gate TRUE)
      endif()
    endforeach()
    get_test_property(${t} GF_GATE_REQUIRED gated)
    if(needs_gate AND NOT "${gated}" STREQUAL "${required}")
      message(SEND_ERROR "${t}: it requires fixtures that may be skipped (${required}); define it with gf_test, "
                         "gf_cli_test or gf_expect_error and FIXTURES_REQUIRED (tests/cli/helpers.cmake), so that it "
                         "skips with them")
    endif()
  endforeach()
endfunction()
