# The oneDNN probe in CMakeLists.txt (configure only, a fresh build folder
# each): it looks where find_package(dnnl) would look first, a dnnl_DIR given
# on the command line (a fake, empty dnnl-config.cmake there is the one
# found), and a GF_DNNL_CONFIG that names no file (a stale cache entry: the
# file was removed) is passed over rather than read, which failed the configure.
set(_co ${CMAKE_BINARY_DIR}/test_cmake_onednn)
add_test(NAME cpu.cmake_onednn_probe
         COMMAND sh -c "rm -rf ${_co} && mkdir -p ${_co}/fake && : > ${_co}/fake/dnnl-config.cmake && \
set -- '${CMAKE_COMMAND}' -S ${CMAKE_SOURCE_DIR} -DGF_CUDA=OFF -DGF_ONEDNN=ON -DBUILD_TESTING=OFF && \
{ \"$@\" -B ${_co}/hint -Ddnnl_DIR=${_co}/fake >${_co}.log 2>&1 || { cat ${_co}.log; exit 1; }; } && \
{ grep -qx 'GF_DNNL_CONFIG:FILEPATH=${_co}/fake/dnnl-config.cmake' ${_co}/hint/CMakeCache.txt || \
  { echo dnnl_DIR not looked in:; grep GF_DNNL_CONFIG ${_co}/hint/CMakeCache.txt; exit 1; }; } && \
{ \"$@\" -B ${_co}/stale -DGF_DNNL_CONFIG=${_co}/gone/dnnl-config.cmake >${_co}.log 2>&1 || { cat ${_co}.log; exit 1; }; } && \
rm -rf ${_co} ${_co}.log")
set_tests_properties(cpu.cmake_onednn_probe PROPERTIES LABELS cpu)
