// pSp's scripts/calc_losses_on_images.py: LPIPS (AlexNet) or L2 between
// each result image and its ground truth, as `psp losses` runs it.
//
// Official semantics (pixel2style2pixel, scripts/calc_losses_on_images.py
// and datasets/gt_res_dataset.py):
//   - the pairs: the files of --data-path (not its subfolders) whose names
//     end in ".jpg" or ".png" (case-sensitive), each with the file of the
//     same name in --gt-path, every ".png" in that path written ".jpg";
//   - each image opened as PIL .convert('RGB') (no EXIF turn), resized to
//     256x256 (torchvision Resize: PIL bilinear), to [-1, 1] in float32;
//   - the loss of one pair at a time: LPIPS (lpips.h), or torch's MSELoss
//     (the mean of the squared differences);
//   - the DataLoader's drop_last: only whole batches of --batch-size are
//     scored, the rest left out;
//   - stat_<mode>.txt "Average loss is <mean>+-<std>" (2 decimals, NumPy's
//     population std) and scores_<mode>.json {name: loss} in
//     inference_metrics/ beside --data-path (os.path.dirname of it).
// Differences: the official order is os.listdir's (the file system's), so
// which images drop_last leaves out is the file system's choice; here the
// names are sorted, so the same files are scored on every machine. A ground
// truth missing under the ".jpg" name is looked for under the result's own
// name (the official fails), since `psp encode` writes PNGs of any input.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gf::psp {

struct ResultGtPair {
  std::string name;    // the result's file name: the key of scores_<mode>.json
  std::string result;  // path of the result image
  std::string gt;      // path of its ground truth
};

// The pairs of data_path and gt_path, by sorted name. Throws gf::Error when
// data_path is no folder, holds no .jpg or .png, or a ground truth is missing.
std::vector<ResultGtPair> result_gt_pairs(const std::string& data_path, const std::string& gt_path);

// An image file as the script's transform gives it: float32 [1, 3, 256, 256]
// in [-1, 1]. Throws gf::Error naming the file when it cannot be decoded or
// has transparent pixels.
Tensor read_loss_image(const std::string& path);

// "Average loss is 0.12+-0.03": NumPy's mean and (population) std of scores, as Python's '{:.2f}' prints them.
std::string average_loss_line(const std::vector<double>& scores);

}  // namespace gf::psp
