# The CPU emulator of the CUDA runtime (GF_CUDA_EMU=ON; included from
# CMakeLists.txt). kernels/*.cu and *.cuh go through gfemu_rewrite (launches
# and __shared__ become C++) into ${GFEMU_GEN_DIR}, and g++ compiles them with
# the emulator's headers first on the include path and gfemu/kernel.h
# force-included. Everything else of the project builds as usual, with
# GF_WITH_CUDA defined, so every CUDA branch and [cuda] test runs on the CPU.

set(GFEMU_DIR ${CMAKE_CURRENT_LIST_DIR})
set(GFEMU_GEN_DIR ${CMAKE_BINARY_DIR}/gfemu_gen)
set(GFEMU_SOURCES ${GFEMU_DIR}/src/fiber.cpp ${GFEMU_DIR}/src/scheduler.cpp ${GFEMU_DIR}/src/runtime.cpp
                  ${GFEMU_DIR}/src/cublas.cpp ${GFEMU_DIR}/src/cudnn.cpp ${GFEMU_DIR}/src/nccl.cpp)
# Flags for device code compiled as C++: pragmas such as `#pragma unroll`
# are nvcc's; the constexpr template arguments the rewritten launches use
# inside a lambda look unused to g++.
set(GFEMU_KERNEL_FLAGS -include gfemu/kernel.h -Wno-unknown-pragmas -Wno-unused-but-set-variable)

add_executable(gfemu_rewrite ${GFEMU_DIR}/rewrite.cpp)

# The runtime: every emulated thread switches through it, so it is always
# optimized, whatever the build type.
add_library(gfemu STATIC ${GFEMU_SOURCES})
target_include_directories(gfemu PUBLIC ${GFEMU_DIR}/include PRIVATE ${GFEMU_DIR}/src ${CBLAS_INCLUDE_DIR})
target_link_libraries(gfemu PUBLIC ${OPENBLAS_LIBRARY} Threads::Threads)
target_compile_options(gfemu PRIVATE ${GF_WARNINGS} -O2)

# gfemu_cuda_sources(<var> <files...>): rewrites .cu/.cuh files into the
# generated tree (same relative paths, .cu -> .cu.cpp) and sets <var> to the
# generated files.
function(gfemu_cuda_sources out_var)
  set(outs)
  foreach(src ${ARGN})
    file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${src})
    if(src MATCHES "\\.cu$")
      set(out ${GFEMU_GEN_DIR}/${rel}.cpp)
    else()
      set(out ${GFEMU_GEN_DIR}/${rel})
    endif()
    get_filename_component(dir ${out} DIRECTORY)
    add_custom_command(OUTPUT ${out}
                       COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
                       COMMAND gfemu_rewrite ${src} ${out}
                       DEPENDS ${src} gfemu_rewrite
                       COMMENT "gfemu: rewriting ${rel}" VERBATIM)
    list(APPEND outs ${out})
  endforeach()
  set(${out_var} ${outs} PARENT_SCOPE)
endfunction()

# The project's kernels, as an object library with its own include order:
# the rewritten .cuh files must shadow the originals.
file(GLOB GF_KERNEL_CUDA CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/*.cu ${CMAKE_SOURCE_DIR}/kernels/*.cuh)
gfemu_cuda_sources(GF_KERNEL_CUDA_GEN ${GF_KERNEL_CUDA})
add_library(gf_kernels_cuda OBJECT ${GF_KERNEL_CUDA_GEN})
target_include_directories(gf_kernels_cuda PRIVATE ${GFEMU_GEN_DIR} ${CMAKE_SOURCE_DIR} ${GFEMU_DIR}/include)
target_compile_definitions(gf_kernels_cuda PRIVATE GF_WITH_CUDA=1)
target_compile_options(gf_kernels_cuda PRIVATE ${GF_WARNINGS} ${GFEMU_KERNEL_FLAGS})

# The self-tests (tests/cuda_emu): always with ASan and UBSan, whatever
# GF_SANITIZE says, since half of them expect those reports. The runtime is
# compiled again for them with the same instrumentation.
if(BUILD_TESTING)
  find_package(Catch2 2 REQUIRED)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g1)
  gfemu_cuda_sources(GFEMU_SELFTEST_GEN ${CMAKE_SOURCE_DIR}/tests/cuda_emu/kernels.cu)
  add_executable(gfemu_selftest ${CMAKE_SOURCE_DIR}/tests/cuda_emu/main.cpp
                 ${CMAKE_SOURCE_DIR}/tests/cuda_emu/test_cuda_emu.cpp ${CMAKE_SOURCE_DIR}/tests/cuda_emu/test_libraries.cpp
                 ${CMAKE_SOURCE_DIR}/tests/cuda_emu/test_nccl.cpp
                 ${GFEMU_SELFTEST_GEN} ${GFEMU_SOURCES})
  target_include_directories(gfemu_selftest PRIVATE ${GFEMU_DIR}/include ${GFEMU_DIR}/src ${CMAKE_SOURCE_DIR}
                                                    ${CBLAS_INCLUDE_DIR})
  target_link_libraries(gfemu_selftest PRIVATE Catch2::Catch2 ${OPENBLAS_LIBRARY} Threads::Threads)
  set_source_files_properties(${GFEMU_SELFTEST_GEN} PROPERTIES COMPILE_OPTIONS "${GFEMU_KERNEL_FLAGS}")
  target_compile_options(gfemu_selftest PRIVATE ${GF_WARNINGS} -O1 ${_san})
  target_link_options(gfemu_selftest PRIVATE ${_san})
  # Catch2's runner (main.cpp holds its implementation): 51 s to compile at
  # -O1 under the sanitizers, the build's longest file; it tests nothing.
  set_source_files_properties(${CMAKE_SOURCE_DIR}/tests/cuda_emu/main.cpp PROPERTIES COMPILE_OPTIONS "-O0;-fno-sanitize=all")
  # Two devices, for the multi-device constructs and faults.
  foreach(group construct fault library switch nccl)
    add_test(NAME cuda.emu_selftest_${group} COMMAND gfemu_selftest "[${group}]")
    set_tests_properties(cuda.emu_selftest_${group} PROPERTIES LABELS "cuda;emu" ENVIRONMENT "GFEMU_DEVICES=2")
  endforeach()
endif()
