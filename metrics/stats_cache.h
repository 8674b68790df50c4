// The cache of real-image feature statistics: computing them means running
// the detector over the whole dataset, the same for every snapshot of a run
// and every run on that dataset. As the official cache (metric_utils.py,
// ~/.cache/dnnlib/gan-metrics) it is keyed by what determines the result;
// here that is the content of the evaluated images (a hash of their bytes in
// order), the detector's weights and the statistics kept, not file names, so
// an edited dataset is never served stale statistics.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "metrics/feature_stats.h"
#include "data/dataset.h"

namespace gf::metrics {

// $XDG_CACHE_HOME/ganforge/gan-metrics, else $HOME/.cache/ganforge/gan-metrics;
// empty when neither is set.
std::string default_cache_dir();

// A 64-bit hash of the items' pixels in order, with their count and shape, as
// hex: each item's Dataset::pixel_hashes entry chained by FNV-1a (no image
// is decoded again for a dataset read from its files).
std::string dataset_content_key(const Dataset& ds, const std::vector<int64_t>& items);

// The same kind of hash of a file's bytes (1 MiB blocks), as hex: the
// detector's key names its weights, not its path. Throws naming the file.
std::string file_content_key(const std::string& path);

// <dir>/<dataset name>-<hex of the key>.bin
std::string cache_file(const std::string& dir, const std::string& dataset_name, const std::string& key);

// A cache entry holds either the float64 running sums (mean_cov statistics,
// FID) or every captured feature row in float32 (capture_all statistics,
// KID; up to 1M x 2048 rows for kid50k_full: 8 GB on disk, as the official
// cache's pickle of the same array); its key says which and how many items.
//
// The statistics stored under path, or nothing when the file is absent. A
// file that is there but unreadable or of another key is ignored (nothing),
// after a line to log, and rewritten by the caller.
std::optional<FeatureStats> load_cached_stats(const std::string& path, const std::string& key,
                                              const std::function<void(const std::string&)>& log);
// Written atomically (engine/io/atomic_file.h); a failure to write is logged,
// not thrown: the metric's value does not depend on the cache.
void save_cached_stats(const std::string& path, const std::string& key, const FeatureStats& stats,
                       const std::function<void(const std::string&)>& log);

}  // namespace gf::metrics
