# The project configured for nvcc (a fresh build folder, configure only: no
# GPU, no compile): GCC's flags (GF_WARNINGS, the GF_SANITIZE set) reach the
# C++ sources and never nvcc, which refuses -Wall ("nvcc fatal: Unknown
# option") on every .cu file of gf_kernels. Skipped (77) without nvcc.
set(_cf ${CMAKE_BINARY_DIR}/test_cmake_flags)
add_test(NAME cpu.cmake_gcc_flags_not_given_to_nvcc
         COMMAND sh -c "nvcc=/usr/local/cuda/bin/nvcc; [ -x $nvcc ] || nvcc=$(command -v nvcc) || exit 77; \
rm -rf ${_cf} && '${CMAKE_COMMAND}' -S ${CMAKE_SOURCE_DIR} -B ${_cf} -DGF_CUDA=ON -DCMAKE_CUDA_COMPILER=$nvcc \
-DGF_SANITIZE='address;undefined' -DBUILD_TESTING=OFF >${_cf}.log 2>&1 || { cat ${_cf}.log; exit 1; }; \
f=${_cf}/CMakeFiles/gf_kernels.dir/flags.make; grep -q '^CUDA_FLAGS' $f || { echo no CUDA_FLAGS in $f; exit 1; }; \
for flag in -Wall -fsanitize=; do grep '^CXX_FLAGS' $f | grep -q -- $flag || { echo the C++ lost $flag:; cat $f; exit 1; }; done; \
if grep '^CUDA_FLAGS' $f | grep -e -Wall -e -Wextra -e -fsanitize -e -fno-omit-frame-pointer; then exit 1; fi; rm -rf ${_cf} ${_cf}.log")
set_tests_properties(cpu.cmake_gcc_flags_not_given_to_nvcc PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
