// NumPy .npy files, so latents, labels and images pass to and from Python
// without a conversion step. Only what the tools need: float arrays; read in
// either byte order and either memory order, float16 among them; written
// as little-endian float32 ('<f4') or float64 ('<f8') in C order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "engine/tensor.h"

namespace gf::io {

// Reads format version 1.0 or 2.0 into a C-order CPU tensor: float64 for
// '<f8'/'>f8', else float32 (float16 widened exactly; NumPy's default float
// is float64, so callers convert with .to(DType::f32) where they need
// float32); a Fortran-order array is reordered, a big-endian one swapped.
// A bad file throws gf::Error "npy: <path>: <problem>": bad magic,
// unsupported version, malformed header, a dtype other than a float of 2,
// 4 or 8 bytes, or data that is shorter or longer than the shape says.
// With whole_numbers, integers (signed or not, 1 to 8 bytes) and bools are
// read too, as float64 (exact up to 2^53): for labels, which the official
// networks cast to float32 (MappingNetwork's c.to(torch.float32)); off
// where an integer array would mean something else (uint8 images).
Tensor read_npy(const std::string& path, bool whole_numbers = false);

// A program's input array (generate's --z, --w, --c, discriminate's
// --images, psp's .npy --images): read_npy, then check_finite. A NaN or an
// infinity there gave black images (or NaN latents) and exit 0.
Tensor read_input_npy(const std::string& path, const std::string& flag, bool whole_numbers = false);

// Throws gf::Error "<what>: element [i, j, ...] is nan (the array must hold
// finite numbers)" (or inf, -inf) for the first non-finite element of a
// float32 or float64 CPU tensor in C order, or "... is 1e+300, beyond
// float32's range ..." for a float64 one that would be an infinity in
// float32; `what` names the input ("--z z.npy", "--projected-w w.npz: 'w'").
void check_finite(const Tensor& t, const std::string& what);

// The flat (C-order) index of the first element of a float32 or float64
// CPU tensor that is not finite, or -1: for a program's own outputs
// (generate's images, psp's latents), which it refuses in its own words.
int64_t first_nonfinite(const Tensor& t);

// The same for the first element that is not >= 0 (a NaN counts): what a
// second moment or a running variance read from a file must be.
int64_t first_negative(const Tensor& t);
// The flat index of its first NaN or -inf (+inf and finite values pass), or -1.
int64_t first_nan_or_minus_inf(const Tensor& t);

// Writes a float32 or float64 tensor (from any device) as version 1.0, C
// order, with the header padded as NumPy pads it (the data starts at a
// multiple of 64 bytes), so the bytes equal those of numpy.save. Written to
// "<path>.<pid>.tmp" and renamed, the data streamed from the tensor (no copy
// of the file in memory; a device tensor is copied to the host once).
void save_npy(const std::string& path, const Tensor& t);

// What save_npy writes, to a stream (the files of an io::AtomicFileSet);
// `name` names the array in its error (a dtype other than float32/64).
void write_npy(std::ostream& f, const Tensor& t, const std::string& name);

// The same two in memory, for the entries of an .npz archive (data/archives/npz.h):
// parse_npy reads the n bytes of a .npy file, with read_npy's checks and its
// errors naming `name`; npy_bytes is what save_npy writes.
Tensor parse_npy(const uint8_t* data, size_t n, const std::string& name);

// parse_npy over a source of `size` bytes that read_at(offset, dst, k) copies
// from (ranges within size), read in order: the preamble, the header, then
// the data, only once the header's dtype and shape are found to fill `size`
// exactly. A reader of a compressed entry serves the first two from the
// entry's first kNpyHeadBytes and decodes the rest only then.
Tensor parse_npy_from(uint64_t size, const std::function<void(uint64_t, void*, size_t)>& read_at,
                      const std::string& name);
// The preamble and the longest header parse_npy takes.
inline constexpr size_t kNpyHeadBytes = 12 + (size_t{1} << 20);
std::string npy_bytes(const Tensor& t);

// The preamble and header save_npy writes before a float32 or float64 array
// of `shape`, for a writer that streams the data after it (generate --raw
// writes each image as it is made).
std::string npy_header(DType dtype, const Shape& shape);

}  // namespace gf::io
