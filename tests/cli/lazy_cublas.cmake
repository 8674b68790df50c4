# The CUDA build's programs do not load cuBLAS at start: kernels/cublas_loader.h
# dlopens it at the first GEMM, since libcublasLt alone costs every process
# about 0.2 s and 210 MB as the dynamic loader relocates it. The loader's own
# list of what it maps at start (LD_TRACE_LOADED_OBJECTS, as ldd) names the
# CUDA runtime but no libcublas. The emulator's build links no CUDA library.
if(GF_WITH_CUDA AND NOT GF_CUDA_EMU)
  foreach(prog generate train_stylegan)
    gf_cli_test(${prog}_loads_no_cublas_at_start EXPECT "libcudart\\.so" REJECT "libcublas"
                COMMAND env LD_TRACE_LOADED_OBJECTS=1 $<TARGET_FILE:${prog}>)
  endforeach()
endif()
