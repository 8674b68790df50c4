# The project configured for nvcc (a fresh build folder, configure only: no
# GPU, no compile): GCC's flags (GF_WARNINGS, the GF_SANITIZE set) reach the
# C++ sources and never nvcc, which refuses -Wall ("nvcc fatal: Unknown
# option") on every .cu file of gf_kernels. Skipped (77) without nvcc, and
# when that configure fails on finding CUDA itself (the compiler, the
# toolkit, cuDNN, an architecture), which the flags play no part in: any
# other failure, or a flag in the wrong place, fails. The generator is named:
# flags.make is the Makefile generator's (CMAKE_GENERATOR=Ninja has none).
set(_cf ${CMAKE_BINARY_DIR}/test_cmake_flags)
# CMake's and FindCUDNN's words when CUDA itself is missing or broken.
set(_cf_cuda_not_found "Could NOT find (CUDNN|CUDAToolkit)|No CMAKE_CUDA_COMPILER could be found|\
CUDA compiler identification is unknown|Failed to detect a default CUDA architecture|CMAKE_CUDA_ARCHITECTURES must be|\
Failed to find nvcc|Compiler requires the CUDA toolkit|Unsupported gpu architecture|CUDA compiler.*is not able to compile a simple test program")
add_test(NAME cpu.cmake_gcc_flags_not_given_to_nvcc
         COMMAND sh -c "nvcc=/usr/local/cuda/bin/nvcc; [ -x $nvcc ] || nvcc=$(command -v nvcc) || exit 77; \
rm -rf ${_cf} && '${CMAKE_COMMAND}' -G 'Unix Makefiles' -S ${CMAKE_SOURCE_DIR} -B ${_cf} -DGF_CUDA=ON \
-DCMAKE_CUDA_COMPILER=$nvcc -DGF_SANITIZE='address;undefined' -DBUILD_TESTING=OFF >${_cf}.log 2>&1 || { \
if grep -qE '${_cf_cuda_not_found}' ${_cf}.log; then \
echo skipped: the configure found no usable CUDA, the flags untested:; grep -A4 'CMake Error' ${_cf}.log; exit 77; fi; \
cat ${_cf}.log; exit 1; }; \
f=${_cf}/CMakeFiles/gf_kernels.dir/flags.make; grep -q '^CUDA_FLAGS' $f || { echo no CUDA_FLAGS in $f; exit 1; }; \
for flag in -Wall -fsanitize=; do grep '^CXX_FLAGS' $f | grep -q -- $flag || { echo the C++ lost $flag:; cat $f; exit 1; }; done; \
if grep '^CUDA_FLAGS' $f | grep -e -Wall -e -Wextra -e -fsanitize -e -fno-omit-frame-pointer; then exit 1; fi; rm -rf ${_cf} ${_cf}.log")
set_tests_properties(cpu.cmake_gcc_flags_not_given_to_nvcc PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
