// cuBLAS, loaded at its first use rather than linked: libcublas pulls in
// libcublasLt (over 500 MB), whose relocations the dynamic loader would apply
// at every program's start (about 0.2 s and 210 MB resident), even for --help
// or a run on the CPU. Only the functions ganforge calls are resolved. In the
// CPU emulator's build (GF_CUDA_EMU) the table holds the emulator's own
// functions, so callers have one code path. CUDA builds only.
#pragma once
#include <cublas_v2.h>

#include <string>
#include <vector>

namespace gf::cuda {

// The cuBLAS functions ganforge uses, with the exact types of cublas_v2.h
// (cublasCreate and cublasSetStream are its macros for the _v2 symbols).
struct CublasApi {
  decltype(&cublasCreate) create = nullptr;
  decltype(&cublasSetStream) set_stream = nullptr;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched = nullptr;
  decltype(&cublasDgemmStridedBatched) dgemm_strided_batched = nullptr;
};

// The table for this process: loaded once, on the first call (thread-safe),
// from libcublas.so.<major> as the dynamic loader finds it (LD_LIBRARY_PATH,
// the program's RUNPATH, the system's paths) or else from the file CMake
// found at configure time. Throws std::runtime_error naming every file tried
// and the loader's reason when neither loads or a function is missing; a
// later call tries again.
const CublasApi& cublas_api();

// What cublas_api tries, in order: the soname, then the configure-time file
// where the build knows one. Empty in the emulator's build.
std::vector<std::string> cublas_libraries();

// Loads the table from the first of `libraries` (sonames or paths) that
// dlopen accepts; the library stays loaded. Throws std::runtime_error, as
// cublas_api does, when none loads or one lacks a function. Not available in
// the emulator's build. Exposed for the tests.
CublasApi load_cublas(const std::vector<std::string>& libraries);

}  // namespace gf::cuda
