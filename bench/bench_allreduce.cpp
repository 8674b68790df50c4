// The gradient all-reduce of one-process-per-GPU training (engine/dist/, NCCL),
// timed at the sizes training gives it: one flat buffer per phase, all of G's
// parameters for Gmain and Greg, all of D's for Dmain and Dreg (the trainer's
// grads_of), for the paper256 (256x256x3) and small (32x32x1, the GPU check's
// Fashion-MNIST) configs. float32, as the gradients are.
//
// Bandwidths as nccl-tests counts them (its doc/PERFORMANCE.md): algbw =
// bytes / time; busbw = algbw * 2 (n - 1) / n for n ranks, the per-link rate a
// ring all-reduce needs, comparable with the hardware's peak whatever n is.
// With 1 rank no data crosses a link: busbw is 0 by that definition and the
// time is NCCL's launch cost alone.
//
// Columns: `nccl` is ncclAllReduce alone (Communicator::all_reduce_sum_device,
// on the communication stream); `trainer` is all_reduce_mean as the trainer
// calls it (flatten, all-reduce, divide, unflatten). Median of timed samples,
// each several calls between device synchronizations.
//
// Launch: alone (1 rank, GPU 0), or as training is launched, e.g.
//   mpirun -np 8 build/bin/bench_allreduce
//   RANK=r LOCAL_RANK=r WORLD_SIZE=8 MASTER_ADDR=... MASTER_PORT=... build/bin/bench_allreduce
// Rank 0 prints. Without a GPU, or in a build without NCCL, it says so and
// exits 0 (nothing to time). --sizes prints only the buffer sizes (no GPU needed).
// --small times only the small config's buffers (the CUDA emulator's run test,
// tests/cli/distributed.cmake, whose numbers mean nothing).
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_common.h"
#include "engine/collective.h"
#include "engine/dist/communicator.h"
#include "engine/ops.h"
#include "train/run_main.h"
#include "train/stylegan2/trainer.h"

namespace {

using namespace gf;

struct Net {
  std::string cfg, net, phases;
  int64_t values;
};

// The flat-buffer sizes: the parameters of G and D as train_stylegan builds
// them for a dataset of res x res x channels.
std::vector<Net> buffers(const std::string& cfg, int res, int channels) {
  std::vector<uint8_t> px(static_cast<size_t>(channels) * res * res, 0);
  const Dataset ds("sizes", res, channels, std::move(px), std::vector<int64_t>{}, DatasetOptions{});
  const TrainerSetup setup = make_trainer_setup(make_train_spec(cfg, res), ds, 0, Device::cpu());
  const std::string name = cfg + " " + std::to_string(res) + "x" + std::to_string(res) + "x" + std::to_string(channels);
  return {{name, "G", "Gmain, Greg", stylegan2::Generator(setup.G_kwargs, 0).num_params()},
          {name, "D", "Dmain, Dreg", stylegan2::Discriminator(setup.D_kwargs, 1).num_params()}};
}

int run(int argc, char** argv) {
  int calls = 10, samples = 7;
  bool sizes_only = false, small_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      calls = 4;
      samples = 3;
    } else if (!std::strcmp(argv[i], "--sizes")) {
      sizes_only = true;
    } else if (!std::strcmp(argv[i], "--small")) {
      small_only = true;
    } else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: bench_allreduce [--quick] [--sizes] [--small]   (alone, or under mpirun / the torchrun-style environment)\n"
                  "  The gradient all-reduce per phase (NCCL; needs a GPU: without one it says so and exits 0).\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_allreduce: error: unknown flag '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  std::vector<Net> all;
  if (!small_only) all = buffers("paper256", 256, 3);
  for (Net& x : buffers("small", 32, 1)) all.push_back(x);
  if (sizes_only) {
    std::printf("%-22s %-3s %-12s %10s %8s\n", "config", "net", "phases", "values", "MB");
    for (const Net& x : all)
      std::printf("%-22s %-3s %-12s %10lld %8.1f\n", x.cfg.c_str(), x.net.c_str(), x.phases.c_str(),
                  static_cast<long long>(x.values), 4e-6 * static_cast<double>(x.values));
    return 0;
  }
  if (!cuda_available()) {
    std::printf("bench_allreduce: skipped: no GPU here (the NCCL all-reduce needs one)\n");
    return 0;
  }
  if (!nccl_built()) {
    std::printf("bench_allreduce: skipped: this build has no NCCL\n");
    return 0;
  }
  std::unique_ptr<Communicator> host = communicator_from_environment();
  if (!host)
    host = make_tcp_communicator(0, 1, 0, "127.0.0.1", 0, dist_timeout_seconds(), rendezvous_timeout_seconds());
  const int n = host->world_size();
  const Device dev = Device::cuda(host->local_rank());
  std::unique_ptr<Communicator> comm = make_nccl_communicator(std::move(host), dev.index);
  const bool main = comm->rank() == 0;
  if (main) {
    std::printf("bench_allreduce: %d rank%s (%s), float32, median of %d samples of %d calls\n", n, n > 1 ? "s" : "",
                comm->backend().c_str(), samples, calls);
    std::printf("%-22s %-3s %-12s %10s %8s %10s %11s %11s %11s\n", "config", "net", "phases", "values", "MB",
                "nccl ms", "algbw GB/s", "busbw GB/s", "trainer ms");
  }
  for (const Net& x : all) {
    const Tensor flat = zeros({x.values}, DType::f32, dev);
    const double bytes = static_cast<double>(flat.nbytes());
    const std::vector<double> t = bench::time_per_call(
        dev, {2, samples, calls},
        {[&] { comm->all_reduce_sum_device(flat); }, [&] { all_reduce_mean(*comm, {flat}); }});
    const double algbw = bytes / t[0] / 1e9, busbw = algbw * 2.0 * (n - 1) / n;
    if (main)
      std::printf("%-22s %-3s %-12s %10lld %8.1f %10.3f %11.1f %11.1f %11.3f\n", x.cfg.c_str(), x.net.c_str(),
                  x.phases.c_str(), static_cast<long long>(x.values), bytes / 1e6, t[0] * 1e3, algbw, busbw,
                  t[1] * 1e3);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::run_main("bench_allreduce", [&] { return run(argc, argv); }); }
