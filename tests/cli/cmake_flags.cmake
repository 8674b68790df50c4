# The project configured for nvcc, configure only (tests/cli/cmake_flags.sh):
# GCC's flags reach the C++ sources and never nvcc. Skipped (77) without a
# usable CUDA. Its nested build folder is removed on every exit, which
# cpu.cmake_flags_cleans_up checks on the skip path (an nvcc that is no compiler).
set(_cf ${CMAKE_BINARY_DIR}/test_cmake_flags)
add_test(NAME cpu.cmake_gcc_flags_not_given_to_nvcc
         COMMAND sh ${GF_CLI_DIR}/cmake_flags.sh ${CMAKE_COMMAND} ${CMAKE_SOURCE_DIR} ${_cf})
set_tests_properties(cpu.cmake_gcc_flags_not_given_to_nvcc PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
add_test(NAME cpu.cmake_flags_cleans_up
         COMMAND sh -c "sh '${GF_CLI_DIR}/cmake_flags.sh' '${CMAKE_COMMAND}' '${CMAKE_SOURCE_DIR}' '${_cf}_false' /bin/false; \
rc=$?; [ $rc -eq 77 ] || { echo expected the skip, 77, got $rc; exit 1; }; \
[ ! -e '${_cf}_false' ] || { echo the nested build folder was left behind:; ls '${_cf}_false'; exit 1; }")
set_tests_properties(cpu.cmake_flags_cleans_up PROPERTIES LABELS cpu)
