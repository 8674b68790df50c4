#include "metrics/pggan_metrics.h"

#include <algorithm>
#include <functional>
#include <string>

#include "engine/error.h"
#include "engine/numpy_random_state.h"
#include "kernels/parallel.h"
#include "metrics/ms_ssim.h"
#include "metrics/sliced_wasserstein.h"
#include "data/images/image_io.h"

namespace gf::metrics {
namespace {

// Generated images first_image .. first_image + count - 1 of the evaluation
// as 8-bit [count, 3, side, side]: image k from generator batch k /
// opt.batch_gen (batch_rng), as the other metrics draw them; a batch's rows
// past count dropped.
std::vector<uint8_t> generated_minibatch(const ImageGenerator& generator, int64_t first_image, int64_t count,
                                         int64_t side, gf::Generator& rng, const FeatureOptions& opt) {
  NoGradGuard ng;
  const int64_t plane = side * side;
  std::vector<uint8_t> out(size_t(count * 3 * plane));
  for (int64_t done = 0; done < count;) {
    // A minibatch starts on a generator batch's first image (minibatches
    // are multiples of batch_gen: check_pggan_metric_setup), so each batch
    // is drawn once.
    const int64_t j = (first_image + done) / opt.batch_gen;
    gf::Generator g = batch_rng(rng, j);
    const Tensor images = generator(opt.batch_gen, g).to(Device::cpu());
    check_batch_draws(rng, j, g);
    GF_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3) && images.size(2) == side &&
                 images.size(3) == side,
             "pggan metrics", "the generator made " << images.desc() << ", the dataset's images are " << side << "x"
                                                    << side);
    const std::vector<double> v = images.to_vector();
    const int64_t c = images.size(1);
    for (int64_t i = 0; i < opt.batch_gen && done < count; ++i, ++done)
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t p = 0; p < plane; ++p)
          out[size_t((done * 3 + ch) * plane + p)] =
              to_8_bit(static_cast<float>(v[size_t((i * c + (c == 1 ? 0 : ch)) * plane + p)]), To8Bit::tf_grid);
  }
  return out;
}

// Real images first .. first + n - 1 of the evaluation as 8-bit [n, 3, side,
// side]: the dataset's unflipped items cycled (the official reader repeats),
// grey repeated to RGB; where the run mirrors (the dataset holds x-flips),
// each flipped where a draw of rs falls under 0.5, the minibatch's draws
// first (apply_mirror_augment's np.random.rand(n) < 0.5).
std::vector<uint8_t> real_minibatch(const Dataset& dataset, const std::vector<int64_t>& items, int64_t first,
                                    int64_t n, NumpyRandomState& rs) {
  const int64_t side = dataset.resolution(), c = dataset.channels();
  std::vector<bool> flip(size_t(n), false);
  if (dataset.size() > dataset.num_images())
    for (int64_t i = 0; i < n; ++i) flip[size_t(i)] = rs.random_sample() < 0.5;
  std::vector<uint8_t> batch(size_t(n * 3 * side * side)), img(size_t(c * side * side));
  for (int64_t i = 0; i < n; ++i) {
    dataset.image(items[size_t((first + i) % int64_t(items.size()))], img.data());
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int64_t y = 0; y < side; ++y)
        for (int64_t x = 0; x < side; ++x)
          batch[size_t(((i * 3 + ch) * side + y) * side + x)] =
              img[size_t(((c == 1 ? 0 : ch) * side + y) * side + (flip[size_t(i)] ? side - 1 - x : x))];
  }
  return batch;
}

// The mean MS-SSIM of num images' pairs 0-1, 2-3, ..., the images made a
// minibatch at a time by make(first, n) (8-bit [n, 3, side, side]).
double mean_pair_msssim(int64_t num, int64_t mb, int64_t side, const std::string& tag, const FeatureOptions& opt,
                        const std::function<std::vector<uint8_t>(int64_t, int64_t)>& make) {
  const int64_t image = 3 * side * side;
  Progress done(opt.progress, tag, num);
  double sum = 0;
  for (int64_t b = 0; b < num; b += mb) {
    const int64_t n = std::min(mb, num - b);
    const std::vector<uint8_t> px = make(b, n);
    std::vector<double> scores(size_t(n / 2));
    cpu::parallel_for(n / 2, n > 2, [&](int64_t p) {
      scores[size_t(p)] = ms_ssim(px.data() + 2 * p * image, px.data() + (2 * p + 1) * image, 3, side);
    });
    for (double s : scores) sum += s;  // in pair order: the same sum at any thread count
    done.update(b + n);
  }
  return sum / double(num / 2);
}

void check_pggan_metric_setup(const Dataset& dataset, int64_t minibatch, const FeatureOptions& opt) {
  check_pggan_metric_side(dataset.resolution(), "pggan metrics");
  GF_CHECK(opt.batch_gen > 0 && minibatch % opt.batch_gen == 0, "pggan metrics",
           "a minibatch of " << minibatch << " images must hold whole generator batches of " << opt.batch_gen);
}

}  // namespace

void check_pggan_metric_side(int64_t side, const std::string& who) {
  GF_CHECK(side >= 16 && (side & (side - 1)) == 0, who,
           "needs images of a power-of-two side of at least 16 (PGGAN's pyramid and scales), got " << side << "x"
                                                                                                   << side);
}

int64_t pggan_metric_minibatch(int64_t side) { return std::clamp<int64_t>(8192 / std::max<int64_t>(side, 1), 4, 256); }

namespace {

// The descriptors of num real images from the reader's position `first`
// (minibatches of mb).
void add_real_pass(SwdDescriptors& desc, const Dataset& dataset, const std::vector<int64_t>& items, int64_t first,
                   int64_t num, int64_t mb, NumpyRandomState& rs, const FeatureOptions& opt, const std::string& tag) {
  Progress done(opt.progress, tag, num);
  for (int64_t b = 0; b < num; b += mb) {
    const int64_t n = std::min(mb, num - b);
    desc.add(real_minibatch(dataset, items, first + b, n, rs).data(), n, rs);
    done.update(b + n);
  }
}

}  // namespace

namespace {

// The SWD of num real images (from the reader's start) against the num that
// add_second puts in its descriptors (the reals' items, the minibatch), every
// draw from NumpyRandomState(seed): the reals' first.
std::vector<double> swd_against_reals(
    const Dataset& dataset, int64_t num, uint64_t seed, const FeatureOptions& opt, const char* needs,
    const std::function<void(SwdDescriptors&, const std::vector<int64_t>&, int64_t, NumpyRandomState&)>& add_second) {
  const int64_t side = dataset.resolution(), mb = pggan_metric_minibatch(side);
  check_pggan_metric_setup(dataset, mb, opt);
  const std::vector<int64_t> items = real_items(dataset, /*keep_xflips=*/false, 0);
  GF_CHECK(!items.empty() && num > 0, "swd", needs);
  const SwdOptions swd;
  NumpyRandomState rs(static_cast<uint32_t>(seed));
  SwdDescriptors real(side, num, swd), other(side, num, swd);
  add_real_pass(real, dataset, items, 0, num, mb, rs, opt, "swd real images");
  add_second(other, items, mb, rs);
  real.finalize();
  other.finalize();
  return swd_x1e3(real, other, swd, rs);
}

}  // namespace

std::vector<double> swd_metric(const ImageGenerator& generator, const Dataset& dataset, int64_t num, uint64_t seed,
                               gf::Generator& rng, const FeatureOptions& opt) {
  return swd_against_reals(dataset, num, seed, opt, "needs real and generated images",
                           [&](SwdDescriptors& fake, const std::vector<int64_t>&, int64_t mb, NumpyRandomState& rs) {
                             const int64_t side = dataset.resolution();
                             Progress done(opt.progress, "swd generated images", num);
                             for (int64_t b = 0; b < num; b += mb) {
                               const int64_t n = std::min(mb, num - b);
                               fake.add(generated_minibatch(generator, b, n, side, rng, opt).data(), n, rs);
                               done.update(b + n);
                             }
                           });
}

std::vector<double> swd_reals2_metric(const Dataset& dataset, int64_t num, uint64_t seed, const FeatureOptions& opt) {
  return swd_against_reals(dataset, num, seed, opt, "needs real images",
                           [&](SwdDescriptors& second, const std::vector<int64_t>& items, int64_t mb,
                               NumpyRandomState& rs) {
                             add_real_pass(second, dataset, items, num, num, mb, rs, opt,
                                           "swd real images, second pass");
                           });
}

MsssimResult msssim_metric(const ImageGenerator& generator, const Dataset& dataset, int64_t num, uint64_t seed,
                           gf::Generator& rng, const FeatureOptions& opt) {
  const int64_t side = dataset.resolution(), mb = pggan_metric_minibatch(side);
  check_pggan_metric_setup(dataset, mb, opt);
  GF_CHECK(num >= 2 && num % 2 == 0, "msssim", "needs an even number of images, at least 2, got " << num);
  const std::vector<int64_t> items = real_items(dataset, /*keep_xflips=*/false, 0);
  GF_CHECK(!items.empty(), "msssim", "needs real images");
  NumpyRandomState rs(static_cast<uint32_t>(seed));
  MsssimResult r;
  r.reals = mean_pair_msssim(num, mb, side, "msssim real images", opt, [&](int64_t b, int64_t n) {
    return real_minibatch(dataset, items, b, n, rs);
  });
  r.generated = mean_pair_msssim(num, mb, side, "msssim generated images", opt, [&](int64_t b, int64_t n) {
    return generated_minibatch(generator, b, n, side, rng, opt);
  });
  return r;
}

}  // namespace gf::metrics
