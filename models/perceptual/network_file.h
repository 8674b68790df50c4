// The loss networks in ganforge .bin files, as tools/convert_weights.py
// writes them from the user's files (none can be downloaded here):
//  - LPIPS: torchvision's AlexNet state dict (alexnet-owt-*.pth) and the
//    LPIPS v0.1 lin layers (alex.pth) -> net.layers.*, lin.* (lpips.h names);
//    metadata "perceptual" = "lpips" and "lpips_kwargs";
//  - ArcFace: pSp's model_ir_se50.pth -> input_layer.*, body.*, output_layer.*
//    (batch-norm running stats kept, num_batches_tracked dropped); metadata
//    "perceptual" = "arcface" and "arcface_kwargs";
//  - Inception-v3 (the FID/IS detector): the state dict of the metrics'
//    inception-2015-12-05.pt -> layers.*, output.* (inception.h names);
//    metadata "perceptual" = "inception" and, optionally, "inception_kwargs"
//    (absent: the official widths).
//  - MoCo's ResNet-50 (pSp's MoCo loss): the query encoder of the MoCo v2
//    checkpoint pSp reads (moco_v2_800ep_pretrain.pth.tar: state_dict
//    module.encoder_q.*, its fc dropped) -> conv1.*, bn1.*, layerK.* (resnet.h
//    names; running stats kept, num_batches_tracked dropped); metadata
//    "perceptual" = "moco" and "moco_kwargs";
//  - VGG16 (PPL's, pr50k3's and the projector's vgg16.pt): torchvision's
//    vgg16-397923af.pth without classifier.6 and LPIPS's vgg.pth ->
//    features.*, classifier.{0,3}.*, lin{0..4}.model.1.weight (vgg16.h names,
//    where load_vgg16 and save_vgg16 are declared); metadata "perceptual" =
//    "vgg16" and, optionally, "vgg16_kwargs".
#pragma once
#include <memory>
#include <string>

#include "engine/io/safetensors.h"
#include "models/perceptual/arcface.h"
#include "models/perceptual/inception.h"
#include "models/perceptual/lpips.h"
#include "models/perceptual/resnet.h"
#include "models/perceptual/vgg16.h"

namespace gf::perceptual {

// Throw gf::Error naming the file when it is not such a network, or a tensor
// is missing, extra or misshapen.
std::unique_ptr<Lpips> load_lpips(const std::string& path);
std::unique_ptr<ArcFace> load_arcface(const std::string& path);
std::unique_ptr<ResNet> load_moco(const std::string& path);
// On the CPU, float32; move it with Module::to.
std::unique_ptr<InceptionV3> load_inception(const std::string& path);
void save_lpips(const std::string& path, const Lpips& net);
void save_arcface(const std::string& path, const ArcFace& net);
void save_moco(const std::string& path, const ResNet& net);
void save_inception(const std::string& path, const InceptionV3& net);

}  // namespace gf::perceptual
