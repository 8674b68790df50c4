#include "tests/step_parity.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "engine/ops.h"
#include "engine/strings.h"

namespace gf::step_parity {

nlohmann::json Fixture::meta(const std::string& key) const {
  INFO(path << ": metadata " << key);
  REQUIRE(file.metadata.count(key));
  return nlohmann::json::parse(file.metadata.at(key));
}

const Tensor& Fixture::at(const std::string& name) const {
  auto it = file.tensors.find(name);
  INFO(path << ": tensor " << name);
  REQUIRE(it != file.tensors.end());
  return it->second;
}

std::vector<std::string> Fixture::names(const std::string& layout) const {
  std::vector<std::string> out;
  const nlohmann::json entries = meta("layout").at(layout);  // a copy: meta() returns a temporary
  for (const auto& e : entries) out.push_back(e[0].get<std::string>());
  return out;
}

io::TensorMap Fixture::unpack(const std::string& name, const std::string& layout) const {
  const Tensor& flat = at(name);
  io::TensorMap out;
  int64_t pos = 0;
  const nlohmann::json entries = meta("layout").at(layout);  // a copy: meta() returns a temporary
  for (const auto& e : entries) {
    const Shape shape = e[1].get<Shape>();
    const int64_t n = shape_numel(shape);
    REQUIRE(pos + n <= flat.numel());
    out[e[0].get<std::string>()] = slice(flat, 0, pos, pos + n).reshape(shape).clone();
    pos += n;
  }
  REQUIRE(pos == flat.numel());
  return out;
}

Fixture open_fixture(const std::string& name) {
  Fixture f;
  f.path = std::string(GF_TEST_DATA_DIR) + "/" + name + ".bin";
  f.file = io::read_safetensors(f.path);
  return f;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gf_test_step_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::unique_ptr<Dataset> fixture_dataset(const Fixture& f) {
  const Tensor& px = f.at("data/pixels");
  const nlohmann::json data = f.meta("data");
  std::vector<uint8_t> pixels;
  for (double v : px.to_vector()) pixels.push_back(static_cast<uint8_t>(v));
  std::vector<int64_t> labels;
  if (data["c_dim"].get<int>() > 0)
    for (double v : f.at("data/labels").to_vector()) labels.push_back(static_cast<int64_t>(v));
  DatasetOptions opt;
  opt.use_labels = !labels.empty();
  opt.xflip = data["xflip"].get<bool>();
  auto ds = std::make_unique<Dataset>("fixture", static_cast<int>(px.size(2)), static_cast<int>(px.size(1)),
                                      std::move(pixels), std::move(labels), opt);
  REQUIRE(ds->c_dim() == data["c_dim"].get<int>());
  return ds;
}

void load_adam(const Fixture& f, const std::string& key, const std::string& layout, Adam& opt) {
  const io::TensorMap v = f.unpack("init/" + key + "/exp_avg_sq", layout);
  const std::vector<double> steps = f.at("init/" + key + "/step").to_vector();
  const std::vector<std::string> names = f.names(layout);
  REQUIRE(steps.size() == names.size());
  io::TensorMap state;
  for (size_t i = 0; i < names.size(); ++i) {
    if (steps[i] == 0) continue;
    state[names[i] + ".exp_avg"] = zeros_like(v.at(names[i]));
    state[names[i] + ".exp_avg_sq"] = v.at(names[i]);
    state[names[i] + ".step"] = Tensor::scalar(steps[i], DType::f64);
  }
  opt.load_state_dict(state);
}

io::TensorMap params_of(const Module& m) {
  io::TensorMap out;
  for (const auto& [name, p] : m.named_parameters()) out[name] = p.detach().clone();
  return out;
}

io::TensorMap grads_of(const Module& m, bool missing_as_zero) {
  io::TensorMap out;
  for (const auto& [name, p] : m.named_parameters()) {
    INFO("gradient of " << name);
    if (!missing_as_zero) CHECK(p.grad().defined());
    out[name] = p.grad().defined() ? p.grad().clone() : zeros_like(p);
  }
  return out;
}

namespace {

bool applies(const nlohmann::json& p, int64_t mb, const std::string& phase) {
  return p["mb"].get<int64_t>() == mb && p["phase"].get<std::string>() == phase;
}

// The listed elements of g set by value(name): "nan", "inf" or "-inf".
template <class F>
Tensor with_elements(const Tensor& g, const nlohmann::json& p, F value) {
  std::vector<double> v = g.to_vector();
  for (size_t k = 0; k < p["index"].size(); ++k) v.at(p["index"][k].get<size_t>()) = value(p["value"][k].get<std::string>());
  return Tensor::from_vector(v, g.shape(), g.dtype());
}

}  // namespace

void poison(const nlohmann::json& list, int64_t mb, const std::string& phase, Module& net) {
  for (const auto& p : list) {
    if (!applies(p, mb, phase)) continue;
    Tensor g;
    for (const auto& [name, t] : net.named_parameters())
      if (name == p["param"].get<std::string>()) g = t.grad();
    REQUIRE(g.defined());
    g.copy_(with_elements(g, p, [](const std::string& s) { return s == "nan" ? NAN : s == "inf" ? INFINITY : -INFINITY; }));
  }
}

void clean_poisoned(const nlohmann::json& list, int64_t mb, const std::string& phase, io::TensorMap& grads) {
  for (const auto& p : list) {
    if (!applies(p, mb, phase)) continue;
    Tensor& g = grads.at(p["param"].get<std::string>());
    g = with_elements(g, p, [](const std::string& s) { return s == "nan" ? 0.0 : s == "inf" ? 1e5 : -1e5; });
  }
}

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

void check_group(const std::string& what, const io::TensorMap& got, const io::TensorMap& want,
                 const std::map<std::string, double>& noise) {
  REQUIRE(got.size() == want.size());
  double scale = 0;
  for (const auto& [name, b] : want) scale = std::max(scale, max_abs(b));
  for (const auto& [name, b] : want) {
    INFO(what << " " << name);
    REQUIRE(got.count(name));
    REQUIRE(noise.count(name));
    const Tensor& a = got.at(name);
    REQUIRE(a.shape() == b.shape());
    const std::vector<double> x = a.to_vector(), y = b.to_vector();
    double diff = 0;
    bool finite = true;
    for (size_t i = 0; i < x.size(); ++i) {
      finite = finite && std::isfinite(x[i]);
      diff = std::max(diff, std::abs(x[i] - y[i]));
    }
    REQUIRE(finite);
    const double base = std::max(max_abs(b), kFloor * scale);
    const double err = base > 0 ? diff / base : (diff > 0 ? INFINITY : 0);
    INFO("max |a - b| " << diff << ", max relative error " << err << ", PyTorch float32's max |c - b| "
                        << noise.at(name));
    CHECK((err < kTol || diff <= kNoise * noise.at(name)));
  }
}

Expect::Expect(const Fixture& f, int64_t mb) : f_(f), mb_(mb), prefix_("expect/mb" + std::to_string(mb) + "/") {}

void Expect::group(const std::string& what, const io::TensorMap& got, const std::string& group,
                   const std::string& layout, io::TensorMap want) const {
  if (want.empty()) want = f_.unpack(prefix_ + group, layout);
  const std::vector<double> noise = f_.at(prefix_ + "noise/" + group).to_vector();
  const std::vector<std::string> names = f_.names(layout);
  REQUIRE(noise.size() == names.size());
  std::map<std::string, double> by_name;
  for (size_t i = 0; i < noise.size(); ++i) by_name[names[i]] = noise[i];
  check_group(what, got, want, by_name);
}

void Expect::phases(const std::vector<std::string>& all_phases, const std::map<std::string, io::TensorMap>& grads,
                    const std::function<std::string(const std::string&)>& layout_of) const {
  std::vector<std::string> want, got;
  for (const std::string& phase : all_phases) {
    if (f_.has(prefix_ + "grad/" + phase)) want.push_back(phase);
    if (grads.count(phase)) got.push_back(phase);
  }
  REQUIRE(got == want);
  for (const std::string& phase : want) group(phase + " gradient of", grads.at(phase), "grad/" + phase, layout_of(phase));
}

void Expect::adam(const std::string& key, const Adam& opt, const std::string& layout,
                  const std::string& last_phase) const {
  io::TensorMap m, v, steps;
  for (const auto& [name, t] : opt.state_dict()) {
    for (auto [suffix, into] : {std::pair<std::string, io::TensorMap*>{".exp_avg", &m}, {".exp_avg_sq", &v}, {".step", &steps}})
      if (name.size() > suffix.size() && ends_with(name, suffix))
        (*into)[name.substr(0, name.size() - suffix.size())] = t;
  }
  const io::TensorMap want_v = f_.unpack(prefix_ + key + "/exp_avg_sq", layout);
  for (const auto& [name, t] : want_v) {
    if (v.count(name)) continue;
    m[name] = zeros_like(t);
    v[name] = zeros_like(t);
    steps[name] = Tensor::scalar(0.0, DType::f64);
  }
  group(key + " exp_avg_sq", v, key + "/exp_avg_sq", layout, want_v);
  // Step counts are whole numbers: equal exactly.
  const std::vector<double> want = f_.at(prefix_ + key + "/step").to_vector();
  const std::vector<std::string> names = f_.names(layout);
  REQUIRE(want.size() == names.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO(key << " step of " << names[i]);
    REQUIRE(steps.count(names[i]));
    CHECK(steps.at(names[i]).item() == want[i]);
  }
  if (f_.has(prefix_ + key + "/exp_avg")) {
    group(key + " exp_avg", m, key + "/exp_avg", layout);
    return;
  }
  // beta1 = 0: the first moment is the last phase's gradient, poisoned and cleaned.
  io::TensorMap cleaned = f_.unpack(prefix_ + "grad/" + last_phase, layout);
  clean_poisoned(f_.meta("poison"), mb_, last_phase, cleaned);
  group(key + " exp_avg", m, "grad/" + last_phase, layout, cleaned);
}

}  // namespace gf::step_parity
