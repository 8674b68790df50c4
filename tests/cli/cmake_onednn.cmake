# The oneDNN probe in CMakeLists.txt, configure only (tests/cli/cmake_onednn.sh):
# dnnl_DIR looked in, a stale GF_DNNL_CONFIG passed over, and a dnnl config
# that needs OpenCL, without OpenCL, warned about and built without.
# Its nested build folders are removed on every exit, which
# cpu.cmake_onednn_cleans_up checks on a failed configure (no C++ compiler).
set(_co ${CMAKE_BINARY_DIR}/test_cmake_onednn)
add_test(NAME cpu.cmake_onednn_probe COMMAND sh ${GF_CLI_DIR}/cmake_onednn.sh ${CMAKE_COMMAND} ${CMAKE_SOURCE_DIR} ${_co})
set_tests_properties(cpu.cmake_onednn_probe PROPERTIES LABELS cpu)
add_test(NAME cpu.cmake_onednn_cleans_up
         COMMAND sh -c "CXX=/nonexistent sh '${GF_CLI_DIR}/cmake_onednn.sh' '${CMAKE_COMMAND}' '${CMAKE_SOURCE_DIR}' '${_co}_fails'; \
rc=$?; [ $rc -eq 1 ] || { echo expected the failure, 1, got $rc; exit 1; }; \
[ ! -e '${_co}_fails' ] || { echo the nested build folders were left behind:; ls '${_co}_fails'; exit 1; }")
set_tests_properties(cpu.cmake_onednn_cleans_up PROPERTIES LABELS cpu)
