# Source or build folders named with a space or a shell character: the suite
# is one failing test saying so (CMakeLists.txt), and nothing is removed
# outside the repository (tests/cli/folder_paths.sh).
gf_test(cpu.folder_paths_with_a_space
        COMMAND sh ${GF_CLI_DIR}/folder_paths.sh ${CMAKE_COMMAND} ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/test_folder_paths)
set_tests_properties(cpu.folder_paths_with_a_space PROPERTIES PASS_REGULAR_EXPRESSION "one test, failing with the reason")
