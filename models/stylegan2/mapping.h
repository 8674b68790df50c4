// The StyleGAN2-ADA mapping network: z (and an embedded label c) -> w, with a
// tracked average of w for the truncation trick. The discriminator reuses it,
// without z, to embed labels for its projection output.
#pragma once
#include <optional>

#include "models/stylegan2/layers.h"

namespace gf::stylegan2 {

class MappingNetwork : public Module {
 public:
  struct Options {
    int z_dim = 512;  // 0: no latent
    int c_dim = 0;    // 0: no label
    int w_dim = 512;
    int num_ws = 0;   // 0: output [N, w_dim] without broadcasting (official None)
    int num_layers = 8;
    double lr_multiplier = 0.01;
    std::optional<double> w_avg_beta = 0.995;  // unset: no w_avg (official None)
  };
  MappingNetwork(const Options& opt, ParamInit& init);

  // z [N, z_dim] (undefined when z_dim is 0), c [N, c_dim] (undefined when
  // c_dim is 0) -> ws [N, num_ws, w_dim] (or [N, w_dim] when num_ws is 0).
  // update_w_avg moves w_avg towards this batch's mean w (the official
  // training-mode behaviour); truncation_psi != 1 pulls ws towards w_avg, for
  // the first truncation_cutoff of the num_ws when a cutoff is given.
  Tensor forward(const Tensor& z, const Tensor& c, double truncation_psi = 1,
                 std::optional<int> truncation_cutoff = std::nullopt, bool update_w_avg = false);

  const Options& options() const { return opt_; }
  FullyConnectedLayer* embed;  // when c_dim > 0
  std::vector<FullyConnectedLayer*> fc;
  Tensor* w_avg;  // buffer [w_dim], when num_ws > 0 and w_avg_beta is set

 private:
  Options opt_;
};

}  // namespace gf::stylegan2
