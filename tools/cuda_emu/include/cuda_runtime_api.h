// The runtime API without the kernel-language parts: in the emulator both are
// the one header cuda_runtime.h (host code that includes only the API, as
// engine/dist/nccl_communicator.cpp does, gets the same declarations).
#pragma once
#include <cuda_runtime.h>
