#include "train/stylegan2/run_items.h"

#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/io/json_input.h"
#include "metrics/stats_cache.h"
#include "models/stylegan2/config.h"
#include "train/checkpoint_state.h"

namespace gf {

std::vector<RunItem> built_run_items(StyleGAN2Trainer& t, const Dataset& ds, const std::string& resume) {
  const TrainerSetup& setup = t.setup();
  const nlohmann::json made = {{"spec", to_json(setup.spec)},
                               {"G_kwargs", stylegan2::to_json(setup.G_kwargs)},
                               {"D_kwargs", stylegan2::to_json(setup.D_kwargs)},
                               {"seed", setup.seed}};
  std::vector<RunItem> items;
  const nlohmann::json flat = made.flatten();  // named: items() would outlive a temporary
  for (const auto& [key, value] : flat.items()) items.push_back({key, io::json_text(value)});
  items.push_back({"dataset", std::to_string(ds.size()) + " images " + std::to_string(ds.resolution()) +
                                  "x" + std::to_string(ds.resolution()) + "x" + std::to_string(ds.channels()) + ", " +
                                  std::to_string(ds.c_dim()) + " labels"});
  // Every image's pixels: a key of the first and last let ranks train on data that differed between them.
  if (ds.size() > 0) items.push_back({"dataset content", dataset_resume_key(ds)});
  if (!resume.empty()) items.push_back({"--resume content", metrics::file_content_key(resume)});
  const std::pair<const char*, const Module*> nets[] = {{"G", &t.G()}, {"G_ema", &t.G_ema()}, {"D", &t.D()}};
  for (const auto& [net, m] : nets) {
    for (const auto& [kind, tensors] : {std::make_pair("parameter", m->named_parameters()),
                                        std::make_pair("buffer", m->named_buffers())})
      for (const auto& [name, x] : tensors) {
        std::string shape;
        for (int64_t d : x.shape()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
        items.push_back(
            {std::string(net) + " " + kind + " " + name, "[" + shape + "] " + std::to_string(x.nbytes()) + " bytes"});
      }
  }
  return items;
}

}  // namespace gf
