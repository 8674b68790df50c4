// The random draws of a training run, by name, so that another implementation
// (the PyTorch reference step in tools/reference/, a test) can replay a minibatch
// exactly, or this one replay another's. Independent of any network family: a
// trainer names what it draws and routes each draw through the log.
//
// Names are "mb<K>/" (K the minibatch index, the official batch_idx) followed
// by a path the trainer chooses, e.g. "mb3/r0/Gmain/z" or
// "mb3/r0/Dmain/pass1/noise/b8.conv0" (StyleGAN2Trainer::set_draw_log lists
// StyleGAN2's; docs/FORMAT.md the files).
// Two kinds of entry:
//  - draws: random numbers (latents, noise, sampled indices, mixing cutoffs).
//    Recording keeps what the generator produced; replaying returns the logged
//    tensor instead and leaves the generator alone.
//  - derived values (the images a sampled index gives, the labels a drawn item
//    gives): recorded so that a reader need not rebuild them from the dataset;
//    on replay compared bit for bit with what this run derives, so the log and
//    the run agree on the data.
// Replaying is strict: a missing name, a shape or dtype other than the run's,
// or an entry of a finished minibatch that nobody took throws gf::Error.
//
// Another family's trainer uses it the same way: PGGAN's logs its WGAN-GP
// interpolation weights ("mb<K>/rep0/D0/gp_eps") beside its latents
// (PGGANTrainer::set_draw_log lists its names); a PyTorch reference of that
// trainer reads the names.
//
// Off is the default everywhere: a trainer holds a null DrawLog* and takes the
// draw directly (see logged_draw), so a run without a log pays one pointer test
// per draw and copies nothing.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/tensor.h"

namespace gf {
class Dataset;
struct Generator;
}  // namespace gf

namespace gf {

class DrawLog {
 public:
  // Records into `dir` (created if missing): one safetensors file per
  // minibatch, dir/draws-mb<K as 6 digits>.bin, written when the minibatch
  // ends (draws-mb<K>-rank<R>.bin for each rank of a multi-process run).
  // A folder that holds draws already (draws-mb*.bin, or the projector's
  // trace.bin) is refused: a shorter second recording over a longer first
  // left the first's later minibatches, and a replay mixed the two runs.
  // `run` (the run's "seed") goes into every file's metadata.
  static std::unique_ptr<DrawLog> recorder(const std::string& dir, const io::Metadata& run = {});
  // Throws as recorder(dir) would (a folder it cannot make, or one holding
  // a recording), making nothing: for a program's checks before its work.
  static void check_recorder_folder(const std::string& dir);
  // Replays the entries named "mb<K>/..." of the given .bin files (other
  // tensors in them are ignored, so a test fixture can hold its draws beside
  // its expected values); a folder stands for its draws-mb*.bin files. A
  // name in more than one file must hold the same bits in each (what every
  // rank of a multi-process run draws alike, such as the sampled indices).
  // A file whose metadata "format" is not a draw log's is refused (one
  // without it, another program's, is read). Entries of minibatches the run
  // does not reach are left unread: a log may be longer than the run. A file
  // that holds one of `run`'s keys with another value is refused (another
  // seed: the log's draws, but networks that start elsewhere).
  static std::unique_ptr<DrawLog> replayer(const std::vector<std::string>& paths, const io::Metadata& run = {});

  // One process of a multi-process run that drives global replicas
  // [first, first + count) of `world`: recording names its files by `rank`,
  // replaying takes only the "mb<K>/r<j>/" entries of its own replicas.
  void set_process(int rank, int first, int count);

  bool replaying() const { return replay_; }

  // The prefix of the names that follow ("mb3/r0/Gmain/"); set by the trainer
  // before each part of the step.
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  const std::string& scope() const { return scope_; }

  // The draw scope() + name of the given shape and dtype: recording calls
  // fresh() (which must return that shape and dtype) and keeps a CPU copy;
  // replaying returns the logged tensor, on `device`, after checking that it
  // is finite (no generator draws NaN or infinity; a damaged or edited log
  // trained NaN networks silently).
  // uniform: the draw is rand()'s, and a replayed value outside [0, 1) is
  // refused too (a gp_eps of 7.5 took the gradient penalty at an
  // extrapolated point; a mixing cutoff of -3 took every style from the
  // second latent).
  Tensor draw(const std::string& name, const Shape& shape, DType dtype, Device device,
              const std::function<Tensor()>& fresh, bool uniform = false);
  // A value derived from draws: kept when recording, compared bit for bit
  // (shape, dtype, values) when replaying.
  void derived(const std::string& name, const Tensor& value);

  // Ends minibatch k: recording writes its file and forgets it; replaying
  // checks that every logged entry of "mb<k>/" was taken.
  void end_minibatch(int64_t k);

  // Names of the entries held (for tests and tools).
  std::vector<std::string> names() const;

 private:
  static void refuse_earlier_recording(const std::string& dir);
  DrawLog(bool replay, std::string where, io::Metadata run = {})
      : replay_(replay), where_(std::move(where)), run_(std::move(run)) {}
  const Tensor& logged(const std::string& full, const Shape& shape, DType dtype);

  bool replay_;
  std::string where_;  // the recording folder, or the replayed files (for messages)
  io::Metadata run_;   // recording: added to every file's metadata
  std::string scope_;
  std::map<std::string, Tensor> entries_;  // on the CPU
  std::set<std::string> taken_;            // replay: entries used so far
  int rank_ = -1;                          // set_process: >= 0 in a multi-process run
  int first_replica_ = 0, replicas_ = -1;  // -1: every replica is this process's
  bool own(const std::string& full) const;  // not another process's replica entry
};

// fresh() itself without a log; through it with one.
template <class F>
Tensor logged_draw(DrawLog* log, const char* name, const Shape& shape, DType dtype, Device device, F&& fresh) {
  return log ? log->draw(name, shape, dtype, device, std::forward<F>(fresh)) : fresh();
}

// rand(shape, rng, dtype, device), uniform in [0, 1), through the log when
// there is one (DrawLog::draw with uniform).
Tensor logged_uniform(DrawLog* log, const char* name, const Shape& shape, DType dtype, Device device, Generator& rng);

// n dataset items (of a dataset of `size`) drawn by fresh(), through the log
// when there is one: kept as float64 [n] under `name`; replayed ones must be
// whole numbers in [0, size) (else gf::Error).
std::vector<int64_t> logged_items(DrawLog* log, const char* name, int64_t n, int64_t size,
                                  const std::function<std::vector<int64_t>()>& fresh);

// random_labels (data/dataset.h) through the log when there is one: the
// items kept under "c_item", the one-hot labels noted as "c". An undefined
// Tensor for an unlabelled dataset (nothing drawn).
Tensor logged_labels(DrawLog* log, const Dataset& ds, int64_t n, Generator& rng, Device device);

// The log the training programs' --record-draws DIR and --replay-draws PATHS
// (comma-separated files or folders) ask for; null when both are empty.
// Throws gf::Error when both are given. `seed`: the run's (recorded, and
// compared on replay).
std::unique_ptr<DrawLog> draw_log_from_flags(const std::string& record_dir, const std::string& replay_paths,
                                             uint64_t seed);

}  // namespace gf
