#include "train/stylegan2/resume.h"

#include <optional>
#include <typeinfo>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "train/checkpoint_state.h"
#include "train/setting_checks.h"
#include "train/stylegan2/checkpoint.h"
#include "train/stylegan2/configs.h"
#include "train/stylegan_flags.h"

namespace gf {

std::unique_ptr<StyleGAN2Trainer> resumed_trainer(const cli::Args& args, const std::string& path,
                                                  const TrainerSetup& fresh, const Dataset& ds,
                                                  const std::function<void(StyleGAN2Trainer&)>& agree,
                                                  std::string* note) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  check_resume_family(file, path, "stylegan2");
  if (resumes_checkpoint(file, path, kCheckpointFormat)) {
    TrainerSetup setup = checkpoint_setup(file, path, fresh.device);
    const TrainSpec& k = setup.spec;
    // --batch-gpu 0 means batch / gpus: it matches a run that passes that many.
    const int per_gpu = k.batch / k.gpus, pass = k.batch_gpu > 0 ? k.batch_gpu : per_gpu;
    const bool zero_given = args.has("batch-gpu") && args.integer("batch-gpu") == 0;
    cli::check_kept_on_resume(args, path,
                              {{"cfg", k.cfg},
                               {"gpus", std::to_string(k.gpus)},
                               {"batch", std::to_string(k.batch)},
                               {"batch-gpu", zero_given && pass == per_gpu ? "0" : std::to_string(pass)},
                               {"gamma", cli::number_text(k.gamma)},
                               {"seed", std::to_string(setup.seed)},
                               {"aug", k.aug},
                               {"p", cli::number_text(k.augment_p)},
                               {"target", cli::number_text(k.ada_target)},
                               {"augpipe", k.augpipe},
                               {"freezed", std::to_string(setup.D_kwargs.freeze_layers)}});
    const int world = fresh.comm ? fresh.comm->world_size() : 1;
    if (world > 1 && setup.spec.gpus != world)
      throw Error(path + " was trained by " + cli::count_text(setup.spec.gpus, "replica") + "; this run has " +
                  std::to_string(world) + " processes: resume it with " + std::to_string(setup.spec.gpus) +
                  " (a different count would split the batch and the random streams differently)");
    setup.comm = fresh.comm;
    if (args.has("kimg")) setup.spec.kimg = args.number("kimg");
    const stylegan2::GeneratorConfig& g = setup.G_kwargs;
    // A checkpoint continues its own run on its own data; its networks alone
    // (a snapshot) are what the official resume puts on other data, where
    // its labels fit (the same count, or 1: broadcast). Else
    // check_networks_fit_data's line (--cond for labels added or dropped).
    const bool snapshot_fits = (g.c_dim > 0) == (ds.c_dim() > 0) && (g.c_dim == ds.c_dim() || g.c_dim == 1);
    if (!networks_fit_data(setup, ds) && snapshot_fits) {
      const auto made_on = file.metadata.find("dataset");
      throw Error(path + ": a checkpoint continues its run on its own data (" +
                  (made_on != file.metadata.end() ? "'" + made_on->second + "', " : std::string()) +
                  images_text(g.img_resolution, g.img_channels, g.c_dim) + "), not on " + ds.name() + "'s " +
                  images_text(ds.resolution(), ds.channels(), ds.c_dim()) +
                  ": resume a snapshot of the run (network-snapshot-*.bin) to train its networks on this data, "
                  "built for it with the snapshot's tensors that fit by name, as the official resume does");
    }
    check_networks_fit_data(file, path, g.img_resolution, g.img_channels, g.c_dim, ds);
    check_configs_fit_file<stylegan2::Generator, stylegan2::Discriminator>(file, path, g, setup.D_kwargs);
    auto t = built_from_file(path, [&] { return std::make_unique<StyleGAN2Trainer>(setup, ds); });
    agree(*t);
    load_checkpoint(*t, file, path);
    *note = diverged_note(file, path);
    return t;
  }
  // The flags' own spec first: its errors (--batch 4 --gpus 3) are this
  // command line's, not the file's, and are named so. (The fields the file
  // overrides, bundle_setup's architecture, are --cfg's presets here, valid
  // by construction: no flag sets them.)
  check_train_spec(fresh.spec);
  // As the official train.py resuming from a pickle: no EMA ramp-up, and ADA
  // reacting faster at the start (ada_kimg 100).
  TrainerSetup setup = bundle_setup(file, path, fresh);
  *note = no_discriminator_note(file, path);
  // Freeze-D keeps D's first layers as the file has them: a file without D has none to keep.
  if (!note->empty() && fresh.D_kwargs.freeze_layers > 0)
    throw Error("--freezed " + std::to_string(fresh.D_kwargs.freeze_layers) + " keeps D's layers from --resume, but " +
                path + " holds no discriminator (a generator alone): resume a snapshot with D, or leave --freezed out");
  setup.D_kwargs.freeze_layers = fresh.D_kwargs.freeze_layers;  // this run's --freezed, not the file's run's
  setup.spec.ema_rampup = 0;
  setup.spec.ada_kimg = 100;
  // conv_clamp is --cfg's, as D's minibatch-stddev group is: train.py builds
  // G and D with its clamp (256) and copies the pickle's weights in, so a
  // converted network without one (TensorFlow's, rosinality's) trains
  // clamped there; no weight holds it. (It came from the file.)
  setup.spec.conv_clamp = fresh.spec.conv_clamp;
  setup.G_kwargs.conv_clamp = setup.D_kwargs.conv_clamp =
      fresh.spec.conv_clamp > 0 ? std::optional<double>(fresh.spec.conv_clamp) : std::nullopt;
  // The file's configs against its own tensors first (a config far larger
  // than the file is refused); networks built for other data are the data's size.
  check_configs_fit_file<stylegan2::Generator, stylegan2::Discriminator>(file, path, setup.G_kwargs, setup.D_kwargs);
  // On other data (resolution, channels, labels) the official train.py
  // builds G and D for the data and copies in what fits by name.
  const bool by_name = !networks_fit_data(setup, ds);
  const std::string made =
      images_text(setup.G_kwargs.img_resolution, setup.G_kwargs.img_channels, setup.G_kwargs.c_dim);
  const std::string built_for =
      by_name ? "built for " + ds.name() + "'s " + images_text(ds.resolution(), ds.channels(), ds.c_dim()) : "";
  if (by_name) build_for_data(&setup, path, ds);
  auto t = built_from_file(path, [&] {
    try {
      return std::make_unique<StyleGAN2Trainer>(setup, ds);
    } catch (const Error& e) {  // (a config check: the file's widths may give no channels at the data's size)
      if (!by_name || typeid(e) != typeid(Error)) throw;
      throw Error(std::string(e.what()) + " (the networks " + built_for + ", with the file's widths)");
    }
  });
  agree(*t);
  const std::string fitted = load_networks(*t, file, path, built_for);
  if (by_name)
    *note += std::string(note->empty() ? "" : "\n") + path + " holds networks of " + made + ": " + built_for +
             ", they take the file's tensors that fit by name, as the official resume copies them "
             "(torch_utils/misc.py copy_params_and_buffers)\n" + fitted;
  return t;
}

}  // namespace gf
