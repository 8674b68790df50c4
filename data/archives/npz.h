// NumPy .npz archives (numpy.savez): a zip of one "<key>.npy" entry per
// array. The projector writes its projected_w.npz with save_npz, generate
// --projected-w reads it (or numpy's own) with read_npz. It lives in
// data/archives/ beside the zip reader it uses (engine/ knows no zip).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/atomic_file.h"
#include "engine/tensor.h"

namespace gf {

// Writes the arrays (float32 or float64, any device) as stored (uncompressed)
// entries "<key>.npy", in the given order, each the bytes numpy.save writes,
// as numpy.savez does. The file appears atomically (temporary name, then
// rename), with zip64 records past 4 GiB as numpy's zipfile writes them.
// Throws gf::Error on an empty or repeated key, a key with '/' or "..", or a
// failed write. With `together`, the file is written with the other files of
// that set, replaced at its commit().
void save_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays,
              io::AtomicFileSet* together = nullptr);

// The arrays of an .npz (stored or deflated, so numpy.savez_compressed's
// too), by key, as CPU tensors of the entry's dtype (float32 or float64):
// every key (an entry's name less ".npy", numpy's NpzFile.files), or with
// `only` those keys alone, the other entries left unread (an int64 'step'
// beside 'w' does not stop a reader of 'w', as numpy.load(f)['w'] does not).
// A key is found as numpy.load(f)[key] finds it: the entry named the key
// itself, else "<key>.npy". Throws gf::Error "npz: <path>: <problem>" for a
// file that is not a zip from its first byte (numpy.load's test), a corrupt
// entry (CRC-32), a read entry that is not such a .npy, or (without `only`)
// an archive without arrays; with `only`, a key the archive lacks is absent
// from the map.
std::map<std::string, Tensor> read_npz(const std::string& path, const std::vector<std::string>& only = {});

}  // namespace gf
