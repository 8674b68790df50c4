// Empty in the CPU-only build (no cublas_v2.h there).
#if GF_WITH_CUDA
#include "kernels/cublas_loader.h"

#include <stdexcept>

#if !GF_CUDA_EMU
#include <dlfcn.h>
#endif

namespace gf::cuda {

#if GF_CUDA_EMU

// The emulator's cuBLAS is linked in statically (tools/cuda_emu/src/cublas.cpp).
const CublasApi& cublas_api() {
  static const CublasApi api{&cublasCreate, &cublasSetStream, &cublasSgemmStridedBatched, &cublasDgemmStridedBatched};
  return api;
}

std::vector<std::string> cublas_libraries() { return {}; }

CublasApi load_cublas(const std::vector<std::string>&) {
  throw std::runtime_error("cuBLAS: the CPU emulator's build links its cuBLAS and loads no library");
}

#else

namespace {

#define GF_CUBLAS_STR2(x) #x
#define GF_CUBLAS_STR(x) GF_CUBLAS_STR2(x)

// Resolves `name` (the symbol after cublas_v2.h's macros) into `fn`.
template <class Fn>
void resolve(void* lib, const std::string& file, const char* name, Fn& fn) {
  dlerror();
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!fn) {
    const char* why = dlerror();
    throw std::runtime_error("cuBLAS: " + file + " has no " + name + " (" + (why ? why : "null symbol") + ")");
  }
}

}  // namespace

std::vector<std::string> cublas_libraries() {
  std::vector<std::string> libs{"libcublas.so." GF_CUBLAS_STR(CUBLAS_VER_MAJOR)};
#ifdef GF_CUBLAS_LIBRARY
  // The build's own copy, when the loader's search does not reach it.
  if (libs.front() != GF_CUBLAS_LIBRARY) libs.emplace_back(GF_CUBLAS_LIBRARY);
#endif
  return libs;
}

CublasApi load_cublas(const std::vector<std::string>& libraries) {
  std::string tried;
  for (const std::string& file : libraries) {
    // RTLD_LOCAL: cuBLAS's symbols stay out of the global namespace.
    void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();  // names the file
      tried += (tried.empty() ? "" : "; ") + (why ? std::string(why) : file + ": failed");
      continue;
    }
    CublasApi api;
    try {
      resolve(lib, file, GF_CUBLAS_STR(cublasCreate), api.create);
      resolve(lib, file, GF_CUBLAS_STR(cublasSetStream), api.set_stream);
      resolve(lib, file, GF_CUBLAS_STR(cublasSgemmStridedBatched), api.sgemm_strided_batched);
      resolve(lib, file, GF_CUBLAS_STR(cublasDgemmStridedBatched), api.dgemm_strided_batched);
    } catch (...) {
      dlclose(lib);
      throw;
    }
    return api;
  }
  throw std::runtime_error("cuBLAS: cannot load libcublas (" + (tried.empty() ? std::string("no file given") : tried) +
                           "); install the CUDA toolkit's cuBLAS or add its folder to LD_LIBRARY_PATH");
}

const CublasApi& cublas_api() {
  static const CublasApi api = load_cublas(cublas_libraries());
  return api;
}

#endif

}  // namespace gf::cuda

#endif  // GF_WITH_CUDA
