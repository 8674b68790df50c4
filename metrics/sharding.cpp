#include "metrics/sharding.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "train/stop_signal.h"

namespace gf::metrics {

bool computes_results(const Communicator* comm) { return !comm || comm->rank() == 0; }

int group_size(const Communicator* comm) { return comm ? comm->world_size() : 1; }

namespace {

// rows as [n, D] float32 on the CPU (a [n] vector becomes [n, 1]).
Tensor host_rows(const Tensor& rows) {
  GF_CHECK(rows.defined() && (rows.dim() == 1 || rows.dim() == 2), "for_each_batch",
           "a batch's rows must be [n, D] or [n], got " << (rows.defined() ? shape_str(rows.shape()) : "none"));
  const Tensor r = rows.dim() == 1 ? rows.reshape({rows.size(0), 1}) : rows;
  return r.to(DType::f32).to(Device::cpu());
}

}  // namespace

void for_each_batch(Communicator* comm, int64_t num_batches, const std::function<Tensor(int64_t)>& compute,
                    const std::function<void(int64_t, const Tensor&)>& take) {
  GF_CHECK(num_batches >= 0, "for_each_batch", "num_batches must be >= 0, got " << num_batches);
  const int64_t n = group_size(comm);
  if (n == 1) {
    for (int64_t b = 0; b < num_batches; ++b) take(b, host_rows(compute(b)));
    return;
  }
  const int64_t rank = comm->rank();
  for (int64_t first = 0; first < num_batches; first += n) {
    const int64_t b = first + rank;
    const Tensor mine = b < num_batches ? host_rows(compute(b)) : Tensor::empty({0, 0});
    // Every rank learns every rank's count and width, so the rows' gather has
    // one size for all, and its pending stop signal, so all stop here alike.
    const auto shapes =
        all_gather(*comm, {double(mine.size(0)), double(mine.size(1)), double(stop_signal_received())});
    std::vector<int> pending;
    for (const auto& s : shapes) pending.push_back(int(s[2]));
    throw_if_any_rank_stopped(pending);
    int64_t rows = 0, width = -1;
    for (int64_t r = 0; r < n && first + r < num_batches; ++r) {
      const auto& s = shapes[size_t(r)];
      rows = std::max(rows, int64_t(s[0]));
      if (width < 0) width = int64_t(s[1]);
      GF_CHECK(int64_t(s[1]) == width, "for_each_batch",
               "batch " << first + r << " (rank " << r << ") has rows of " << int64_t(s[1]) << " values, batch "
                        << first << " (rank 0) of " << width);
    }
    const size_t row_bytes = size_t(std::max<int64_t>(width, 0)) * sizeof(float), bytes = size_t(rows) * row_bytes;
    std::vector<char> padded(bytes, 0);
    if (mine.numel() > 0) std::memcpy(padded.data(), mine.raw(), size_t(mine.nbytes()));
    std::vector<char> all(rank == 0 ? bytes * size_t(n) : 0);
    if (bytes > 0) comm->gather(padded.data(), bytes, rank == 0 ? all.data() : nullptr);
    if (rank != 0) continue;
    for (int64_t r = 0; r < n && first + r < num_batches; ++r) {
      const int64_t k = int64_t(shapes[size_t(r)][0]);
      Tensor x = Tensor::empty({k, width});
      if (k > 0) std::memcpy(x.raw(), all.data() + size_t(r) * bytes, size_t(k) * row_bytes);
      take(first + r, x);
    }
  }
}

}  // namespace gf::metrics
