// The work of the dense products, counted as the ops issue it. The benchmarks
// divide it by their time for FLOP/s and set that against the GEMM library's
// rate measured in the same run (bench/gemm_reference.h): the fraction of a
// measured ceiling that a minibatch's time alone cannot show.
//
// Counted, at 2 FLOPs a multiply-add: every convolution pass of the conv2d
// ops (forward, data gradient, filter gradient: 2 N K OH OW (C / groups) KH KW
// each, the modulated convolution's fused grouped pass and the transposed
// convolution among them) and every matrix product of the matmul op (2 M N K
// a batch entry). Not counted: elementwise ops, the FIR filters (upfirdn2d),
// reductions and the rest, which memory bounds, not a multiply-add peak; nor
// the metrics' own float64 GEMMs outside the ops.
//
// Thread-safe. The total wraps at 2^64 FLOPs: take differences.
#pragma once
#include <cstdint>

namespace gf::flop_count {

void add(uint64_t flops);
uint64_t total();

}  // namespace gf::flop_count
