// run_description (train/stylegan2/run_description.h): the run folder names
// StyleGAN2-ADA's train.py gives. The expected names are what train.py
// --dry-run printed for the same options (stylegan2-ada-pytorch, data
// "mydata.zip" of 32x32 images).
#include <catch2/catch.hpp>

#include "train/stylegan2/configs.h"
#include "train/stylegan2/run_description.h"

using namespace gf;

namespace {

RunDescription described(const TrainSpec& spec) {
  RunDescription d;
  d.dataset = "mydata";
  d.spec = &spec;
  return d;
}

}  // namespace

TEST_CASE("run description: no options give the dataset and auto with its GPU count", "[run_description]") {
  const TrainSpec one = make_train_spec("auto", 32, 1), two = make_train_spec("auto", 32, 2);
  CHECK(run_description(described(one)) == "mydata-auto1");
  CHECK(run_description(described(two)) == "mydata-auto2");
  const TrainSpec cifar = make_train_spec("cifar", 32, 1);
  RunDescription d = described(cifar);
  d.resume = RunDescription::Resume::noresume;
  CHECK(run_description(d) == "mydata-cifar-noresume");
}

TEST_CASE("run description: the data options come before the config, in train.py's order", "[run_description]") {
  const TrainSpec spec = make_train_spec("auto", 32, 1);
  RunDescription d = described(spec);
  d.cond = true;
  d.subset = 5;
  d.mirror = true;
  CHECK(run_description(d) == "mydata-cond-subset5-mirror-auto1");
}

TEST_CASE("run description: given values formatted as Python's {:g}", "[run_description]") {
  TrainSpec spec = make_train_spec("auto", 32, 1);
  spec.gamma = 1e-5;
  spec.kimg = 1;
  spec.aug = "noaug";
  RunDescription d = described(spec);
  d.gamma = d.kimg = d.aug = true;
  CHECK(run_description(d) == "mydata-auto1-gamma1e-05-kimg1-noaug");
  spec.gamma = 123456789;  // {:g} keeps six digits
  d.kimg = d.aug = false;
  CHECK(run_description(d) == "mydata-auto1-gamma1.23457e+08");
  spec.kimg = 0.032;  // ganforge takes a fractional --kimg: written in full
  d.gamma = false;
  d.kimg = true;
  CHECK(run_description(d) == "mydata-auto1-kimg0.032");
}

TEST_CASE("run description: batch, augmentation, resume and Freeze-D parts", "[run_description]") {
  TrainSpec spec = make_train_spec("paper256", 32, 2);
  spec.batch = 8;
  RunDescription d = described(spec);
  d.batch = true;
  CHECK(run_description(d) == "mydata-paper256-batch8");

  TrainSpec fixed = make_train_spec("auto", 32, 1);
  fixed.aug = "fixed";
  fixed.augment_p = 0.2;
  fixed.augpipe = "bg";
  RunDescription f = described(fixed);
  f.aug = f.p = f.augpipe = true;
  CHECK(run_description(f) == "mydata-auto1-fixed-p0.2-bg");

  TrainSpec ada = make_train_spec("auto", 32, 1);
  ada.aug = "ada";
  ada.ada_target = 0.7;
  RunDescription a = described(ada);
  a.aug = a.target = a.augpipe = true;
  a.resume = RunDescription::Resume::custom;
  a.freezed = 0;
  CHECK(run_description(a) == "mydata-auto1-ada-target0.7-bgc-resumecustom-freezed0");
  a.resume = RunDescription::Resume::named;  // train.py's resume_specs name
  a.resume_name = "ffhq256";
  CHECK(run_description(a) == "mydata-auto1-ada-target0.7-bgc-resumeffhq256-freezed0");
}
