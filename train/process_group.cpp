#include "train/process_group.h"

#include <algorithm>
#include <exception>

#include "engine/error.h"
#include "train/stop_signal.h"

namespace gf {

std::vector<RunItem> flag_items(const cli::Args& args, const std::set<std::string>& paths,
                                const std::set<std::string>& skipped) {
  std::vector<RunItem> items;
  for (const auto& [name, value] : args.values()) {
    if (skipped.count(name)) continue;
    const bool path = paths.count(name) && !value.empty() && value != "none";
    items.push_back({"--" + name, path ? "a path" : value});
  }
  return items;
}

ProcessGroup join_process_group(const cli::Args& args, Device device, const std::set<std::string>& paths,
                                const std::set<std::string>& skipped) {
  ProcessGroup g;
  std::unique_ptr<Communicator> group = communicator_from_environment();
  g.world = group ? group->world_size() : 1;
  g.rank = group ? group->rank() : 0;
  // Before any other collective: ranks launched with other flags would pair
  // collectives of other sizes.
  if (g.world > 1) check_same_run(*group, flag_items(args, paths, skipped));
  if (g.world > 1 && device.is_cuda()) device = Device::cuda(device.index + group->local_rank());
  check_device_usable(device);
  if (g.world > 1 && device.is_cuda() && nccl_built()) group = make_nccl_communicator(std::move(group), device.index);
  g.comm = std::move(group);
  g.device = device;
  return g;
}

void checked_on_every_rank(Communicator* comm, const std::function<void()>& check, const std::string& consequence) {
  if (!comm || comm->world_size() == 1) {
    check();
    return;
  }
  std::exception_ptr failed;
  std::string line;
  try {
    check();
  } catch (const std::exception& e) {
    failed = std::current_exception();
    line = *e.what() ? e.what() : "error";
  } catch (...) {  // told to the others too, never skipping the collectives they wait in
    failed = std::current_exception();
    line = "an unknown error";
  }
  int first = -1;
  comm->within(dist_metrics_timeout_seconds(), "GF_DIST_METRICS_TIMEOUT", [&] {
    // Every rank's line length (-1: it agreed), then the first failure's line from rank 0.
    const auto lengths = all_gather(*comm, {failed ? double(line.size()) : -1.0});
    size_t longest = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      if (lengths[r][0] < 0) continue;
      if (first < 0) first = int(r);
      longest = std::max(longest, size_t(lengths[r][0]));
    }
    if (first < 0) return;
    std::string mine = line;
    mine.resize(longest);
    std::string all(comm->rank() == 0 ? longest * lengths.size() : 0, '\0');
    if (longest > 0) comm->gather(mine.data(), longest, comm->rank() == 0 ? all.data() : nullptr);
    std::string theirs(size_t(lengths[size_t(first)][0]), '\0');
    if (comm->rank() == 0) theirs = all.substr(size_t(first) * longest, theirs.size());
    if (!theirs.empty()) comm->broadcast(theirs.data(), theirs.size());
    line = theirs;
  });
  if (first < 0) return;
  if (first == comm->rank()) std::rethrow_exception(failed);
  throw Error("rank " + std::to_string(comm->rank()) + ": rank " + std::to_string(first) + " " + consequence + ": " +
              line);
}

void refuse_multi_process_launch(const std::string& what) {
  const int n = launched_world_size();
  if (n > 1)
    throw Error(what + " trains in one process, but was launched as " + cli::count_text(n, "process") +
                " (mpirun -np or WORLD_SIZE): each would train a whole run of its own; start it once, without the launcher");
}

void agree_on_stop(Communicator& comm) {
  std::vector<int> pending;
  for (const auto& v : all_gather(comm, {double(stop_signal_received())})) pending.push_back(int(v[0]));
  throw_if_any_rank_stopped(pending);
}

}  // namespace gf
