#include "models/ir_se.h"

#include "engine/error.h"
#include "engine/ops/pool2d.h"

namespace gf::nn {
namespace {

template <class M, class... A>
std::unique_ptr<M> make(A&&... a) {
  return std::make_unique<M>(std::forward<A>(a)...);
}

}  // namespace

SEModule::SEModule(int channels, int reduction, ParamInit& init)
    : fc1(child("fc1", make<Conv2d>(channels, channels / reduction, 1, 1, 0, false, init))),
      fc2(child("fc2", make<Conv2d>(channels / reduction, channels, 1, 1, 0, false, init))) {}

Tensor SEModule::forward(const Tensor& x) const {
  const Tensor s = adaptive_avg_pool2d(x, 1, 1);
  return x * sigmoid(fc2.forward(relu(fc1.forward(s))));
}

BottleneckIR::BottleneckIR(int in_channel, int depth, int stride, bool se, int reduction, ParamInit& init,
                           std::vector<BatchNorm*>& bns)
    : stride_(stride), res_layer_([&]() -> Sequential& {
        // pSp registers shortcut_layer first, then res_layer.
        if (in_channel != depth) {
          shortcut_ = &child("shortcut_layer", make<Sequential>());
          sc_conv_ = &shortcut_->add(make<Conv2d>(in_channel, depth, 1, stride, 0, false, init));
          sc_bn_ = &shortcut_->add(make<BatchNorm>(depth, init));
          bns.push_back(sc_bn_);
        }
        return child("res_layer", make<Sequential>());
      }()) {
  bn0_ = &res_layer_.add(make<BatchNorm>(in_channel, init));
  conv0_ = &res_layer_.add(make<Conv2d>(in_channel, depth, 3, 1, 1, false, init));
  prelu_ = &res_layer_.add(make<PReLU>(depth, init));
  conv1_ = &res_layer_.add(make<Conv2d>(depth, depth, 3, stride, 1, false, init));
  bn1_ = &res_layer_.add(make<BatchNorm>(depth, init));
  if (se) se_ = &res_layer_.add(make<SEModule>(depth, reduction, init));
  bns.push_back(bn0_);
  bns.push_back(bn1_);
}

Tensor BottleneckIR::forward(const Tensor& x) const {
  Tensor shortcut;
  if (sc_conv_) {
    shortcut = sc_bn_->forward(sc_conv_->forward(x));
  } else if (stride_ == 1) {
    shortcut = x;  // MaxPool2d(1, 1) is the identity
  } else {
    MaxPool2dParams p;
    p.stride_h = p.stride_w = stride_;
    shortcut = max_pool2d(x, p);
  }
  Tensor r = bn1_->forward(conv1_->forward(prelu_->forward(conv0_->forward(bn0_->forward(x)))));
  if (se_) r = se_->forward(r);
  return r + shortcut;
}

void IRBodyConfig::validate(const char* what) const {
  GF_CHECK(mode == "ir_se" || mode == "ir", what, "mode must be ir_se or ir, got '" << mode << "'");
  GF_CHECK(units.size() == 4 && depths.size() == 4, what, "units and depths must list 4 stages");
  GF_CHECK(se_reduction >= 1, what, "se_reduction must be positive");
  for (int k = 0; k < 4; ++k) {
    GF_CHECK(units[size_t(k)] >= 1, what, "every stage needs a unit");
    GF_CHECK(depths[size_t(k)] >= se_reduction, what,
             "depth " << depths[size_t(k)] << " is below the SE reduction " << se_reduction);
  }
  GF_CHECK(input_nc >= 1, what, "input_nc must be positive");
}

std::unique_ptr<Sequential> IRBody::make_input_layer(const IRBodyConfig& cfg, ParamInit& init) {
  auto layer = make<Sequential>();
  in_conv_ = &layer->add(make<Conv2d>(cfg.input_nc, 64, 3, 1, 1, false, init));
  in_bn_ = &layer->add(make<BatchNorm>(64, init));
  in_prelu_ = &layer->add(make<PReLU>(64, init));
  bns_.push_back(in_bn_);
  return layer;
}

std::unique_ptr<Sequential> IRBody::make_body(const IRBodyConfig& cfg, ParamInit& init) {
  auto body = make<Sequential>();
  int cin = 64;
  for (size_t s = 0; s < cfg.units.size(); ++s)
    for (int u = 0; u < cfg.units[s]; ++u) {
      const int depth = cfg.depths[s];
      units_.push_back(&body->add(
          make<BottleneckIR>(u == 0 ? cin : depth, depth, u == 0 ? 2 : 1, cfg.mode == "ir_se", cfg.se_reduction, init, bns_)));
      cin = depth;
    }
  return body;
}

Tensor IRBody::input_layer(const Tensor& x) const {
  return in_prelu_->forward(in_bn_->forward(in_conv_->forward(x)));
}

}  // namespace gf::nn
