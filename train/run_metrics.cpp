#include "train/run_metrics.h"

namespace gf {

std::shared_ptr<RunMetrics> prepare_metrics(
    const cli::Args& args, const metrics::MetricRequest& req, const metrics::MetricDetectors& detectors,
    const Dataset& ds, const DatasetOptions& dopt,
    const std::function<metrics::ImageGenerator(const Dataset&)>& make_generator,
    const std::function<metrics::PathSampler(const Dataset&)>& make_paths,
    const std::function<metrics::LatentSampler(const Dataset&)>& make_latents, Device dev, Communicator* comm) {
  auto m = std::make_shared<RunMetrics>();
  m->req = req;
  if (dopt.max_images > 0) {
    DatasetOptions all = dopt;
    all.max_images = 0;
    m->full = open_dataset(args.str("data"), all);
  }
  const Dataset& real = m->full ? *m->full : ds;
  // PPL's labels come from the training set itself: metric_main.py resets
  // max_size for FID, KID, PR and IS alone, so compute_ppl's dataset is the
  // --max-images subset.
  m->ctx = metrics::metric_context(req, detectors, real, make_generator(real), make_paths(ds), make_latents(real), dev,
                                   0, nullptr);
  if (comm && comm->world_size() > 1) m->ctx.feature_opt.comm = comm;  // the ranks share the passes
  // A Ctrl-C during an evaluation stops the run (alone: each batch; shared: each round).
  metrics::stop_between_batches(m->ctx);
  return m;
}

nlohmann::json evaluate_shared(const RunMetrics& m, const std::string& run_dir, const std::string& snapshot) {
  return metrics::evaluate_metrics_within(m.req, m.ctx, run_dir, snapshot, m.ctx.log);
}

std::function<nlohmann::json(const std::string&)> metrics_hook(std::shared_ptr<RunMetrics> m, RunDir& run) {
  m->ctx.log = [&run](const std::string& l) { run.log(l); };
  m->ctx.warn = [&run](const std::string& l) { run.log("warning: " + l); };  // into log.txt, as the trainers' own
  return [m, &run](const std::string& snapshot) { return evaluate_shared(*m, run.path(), snapshot); };
}

}  // namespace gf
