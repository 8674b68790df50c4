// Collectives over the replicas of a data-parallel run: copies of one model,
// each on its own device (CPU replicas share the CPU), that must leave every
// step holding the same values.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace gf {

// tensors[r][i] is replica r's i-th tensor; every replica lists the same
// shapes and dtype. On return each holds the mean over the replicas, with the
// same bits on every replica: the sum is formed in replica order on replica
// 0's device, scaled by 1/N, and copied back (a reduce and a
// broadcast, 2(N-1) transfers of the whole set, one flat buffer each).
// Outside the graph; one replica is a no-op.
void all_reduce_mean(const std::vector<std::vector<Tensor>>& tensors);

// Lets every CUDA device in the list read the others' memory directly where
// the hardware allows (else copies are staged through the host).
void enable_peer_access(const std::vector<Device>& devices);

// The tensors' values end to end in one new 1-D tensor on their device, and
// back: the flat buffers the collectives move (engine/dist/communicator.h too).
Tensor flatten_tensors(const std::vector<Tensor>& ts);
void unflatten_into(const Tensor& flat, const std::vector<Tensor>& ts);

// Replica 0's tensors, bit for bit, copied into every other replica's.
void broadcast_from_first(const std::vector<std::vector<Tensor>>& tensors);

}  // namespace gf
