// NCCL's API as the CPU emulator provides it (tools/cuda_emu/src/nccl.cpp):
// the subset ganforge calls (engine/dist/nccl_communicator.cpp,
// bench/bench_allreduce.cpp), with the names, enumerators and values of
// NCCL 2's documented API, so that the same code compiles against either.
//
// What it is: ranks in separate processes (or threads), joined over TCP.
// ncclGetUniqueId opens the bootstrap root, a listening socket and a thread
// of the calling process (rank 0's, in ganforge); the id carries its address,
// port and a nonce. The address: loopback (one machine), or with
// NCCL_SOCKET_IFNAME set, as NCCL reads it (prefixes "eth,ib", "^" to
// exclude, "=" for whole names), the first matching interface's IPv4 address,
// which ranks on other machines (network namespaces, in the tests) reach.
// ncclCommInitRank connects to it and blocks until all nranks have joined,
// as NCCL's does. Rank 0's communicator, when in that process, owns the
// root: ncclCommDestroy leaves it serving the others' last collective until
// they leave, ncclCommAbort ends it. A collective is queued on the
// communicator's worker thread: every rank sends its buffer to
// the root, which sums them in rank order, ((x0 + x1) + x2) + ..., in the
// buffer's own dtype (as engine/collective.h's in-process sum), and sends the
// sum back; so every rank gets the same bits, and a run of N processes the
// bits of N in-process replicas.
//
// Streams, as on a GPU: the call returns at once; the operation starts after
// the work enqueued before it on `stream` (events it waits on included), an
// event recorded on `stream` after it completes only when it ends
// (cudaEventQuery says cudaErrorNotReady until then), and a stream made to
// wait for that event (cudaStreamWaitEvent) holds its next operation until
// then -- in the emulator, that operation's call blocks the host, since the
// emulator runs kernels synchronously at launch.
//
// Failures, as NCCL reports them: a peer whose connection closes (it died, or
// its communicator was aborted) makes ncclCommGetAsyncError return
// ncclRemoteError on every surviving rank, and ncclGetLastError names the
// rank; the operation then never completes (its events stay incomplete, as a
// GPU's NCCL kernel spins) until ncclCommAbort, which ends the worker,
// completes what it held, and frees the communicator. A rank that stops
// answering (SIGSTOP) is not detected, as in NCCL: the caller's timeout is.
//
// For tests, GFEMU_NCCL_FAIL_INIT=R makes rank R's ncclCommInitRank fail
// (ncclSystemError) without joining, so the others wait in theirs, as NCCL's
// do for a rank that never comes (gfemu/control.h).
//
// A stalled rank delays the detection of a dead one behind it: the root reads
// the ranks in order.
//
// Limits: IPv4; ncclAllReduce only, ncclSum only; dtypes ncclFloat32,
// ncclFloat64, ncclBfloat16 and the integers (ncclFloat16 is refused with
// ncclInvalidArgument); one rank per device is not checked; no
// ncclGroupStart/End, no non-blocking communicators (ncclCommInitRank blocks;
// ncclInProgress is never returned), no NCCL_* environment variable but
// NCCL_SOCKET_IFNAME (and without it loopback, where NCCL would take the
// first interface other than lo and docker*), none of NCCL's rings,
// protocols or summation orders. Not NVIDIA's code or protocol:
// written from the API's documentation.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

// The API level emulated (ncclGetLastError came with 2.13).
#define NCCL_MAJOR 2
#define NCCL_MINOR 18
#define NCCL_PATCH 0
#define NCCL_VERSION_CODE 21800
#define GFEMU_NCCL 1

extern "C" {

typedef struct ncclComm* ncclComm_t;

#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
  ncclNumResults = 8
} ncclResult_t;

typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 4, ncclNumOps = 5 } ncclRedOp_t;

typedef enum {
  ncclInt8 = 0,
  ncclChar = 0,
  ncclUint8 = 1,
  ncclInt32 = 2,
  ncclInt = 2,
  ncclUint32 = 3,
  ncclInt64 = 4,
  ncclUint64 = 5,
  ncclFloat16 = 6,
  ncclHalf = 6,
  ncclFloat32 = 7,
  ncclFloat = 7,
  ncclFloat64 = 8,
  ncclDouble = 8,
  ncclBfloat16 = 9,
  ncclNumTypes = 10
} ncclDataType_t;

ncclResult_t ncclGetVersion(int* version);
ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId);
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclCommAbort(ncclComm_t comm);
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError);
ncclResult_t ncclCommCount(const ncclComm_t comm, int* count);
ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device);
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank);
const char* ncclGetErrorString(ncclResult_t result);
const char* ncclGetLastError(ncclComm_t comm);
ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);

}  // extern "C"

namespace gfemu {
// The emulator's own, for its tests: the bootstrap root's IPv4 address that
// an id from ncclGetUniqueId carries, as text ("127.0.0.1"); "" when the id
// did not come from it.
std::string nccl_id_address(const ncclUniqueId& id);
}  // namespace gfemu
