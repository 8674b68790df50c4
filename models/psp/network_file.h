// pSp networks in ganforge .bin files, as tools/convert_weights.py writes
// them: the encoder's tensors under "encoder." with pSp's names (batch norm
// running stats included; torch's num_batches_tracked is dropped), the decoder
// under "G_ema." with the official StyleGAN2-ADA names (so generate and
// export_weights read it as a generator bundle), "latent_avg" when the network
// has one; metadata "psp_kwargs" (models/psp/config.h) and "G_kwargs".
#pragma once
#include <memory>
#include <string>

#include "engine/io/safetensors.h"
#include "models/psp/psp.h"

namespace gf::psp {

// Throws gf::Error naming the file when it is not a pSp file (no psp_kwargs)
// or a tensor is missing, extra or misshapen.
std::unique_ptr<Psp> load_psp(const io::SafetensorsFile& file, const std::string& path);
std::unique_ptr<Psp> load_psp(const std::string& path);
void save_psp(const std::string& path, const Psp& net);

}  // namespace gf::psp
