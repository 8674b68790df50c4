#include "engine/io/npy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <new>
#include <optional>
#include <vector>

#include "engine/error.h"
#include "engine/io/input_file.h"
#include "engine/io/atomic_file.h"
#include "engine/strings.h"
#include "kernels/common.h"

namespace gf::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// The header describes an array in a few dozen bytes; anything far larger is
// not a .npy header (NumPy itself refuses headers over 10000 bytes by default).
constexpr uint32_t kMaxNpyHeader = 1u << 20;
static_assert(kNpyHeadBytes == 12 + kMaxNpyHeader);

[[noreturn]] void bad_npy(const std::string& path, const std::string& what) { throw Error("npy: " + path + ": " + what); }

// The header is a Python dict literal, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Only the forms NumPy writes are accepted: quoted strings, True/False, and
// tuples of non-negative integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
  };

  Header parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<Shape> shape;
    expect('{');
    while (!peek('}')) {
      const std::string key = string();
      expect(':');
      if (key == "descr") descr = string();
      else if (key == "fortran_order") fortran = boolean();
      else if (key == "shape") shape = tuple();
      else fail("unexpected key '" + key + "'");
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (i_ != s_.size()) fail("text after the closing brace");
    if (!descr || !fortran || !shape) fail("'descr', 'fortran_order' and 'shape' are all required");
    return {*descr, *fortran, *shape};
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    // Quoted up to 200 characters: the header may be a megabyte of anything.
    const std::string text = s_.substr(0, s_.find_last_not_of(" \n") + 1);
    bad_npy(path_, "malformed header (" + what + "): " + (text.size() > 200 ? text.substr(0, 197) + "..." : text));
  }
  // Python's whitespace between tokens: spaces, tabs, form feeds, line ends
  // (inside the braces and parentheses) and a backslash ending a line.
  void skip_space() {
    for (;;) {
      if (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\f'))
        ++i_;
      else if (i_ + 1 < s_.size() && s_[i_] == '\\' && (s_[i_ + 1] == '\n' || s_[i_ + 1] == '\r'))
        i_ += 2;
      else
        return;
    }
  }
  bool peek(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string string() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a quoted string");
    const char q = s_[i_++];
    const size_t end = s_.find(q, i_);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<const char*, bool>{"True", true}, {"False", false}}) {
      const size_t n = std::strlen(word);
      if (s_.compare(i_, n, word) == 0) {
        i_ += n;
        return value;
      }
    }
    fail("expected True or False");
  }
  // A tuple as Python's literal_eval reads one: "()", "(3,)", "(2, 3)",
  // "(2, 3,)"; "(3)" is the integer 3, which NumPy refuses as a shape.
  Shape tuple() {
    Shape out;
    bool comma = false;
    expect('(');
    while (!peek(')')) {
      out.push_back(dimension());
      comma = peek(',');
      if (!peek(')')) expect(',');
    }
    expect(')');
    if (out.size() == 1 && !comma) fail("the shape is not a tuple");
    return out;
  }
  // A dimension as NumPy's header parser reads an integer (Python 3's
  // literal_eval; then, for format 1.0 and 2.0, again without Python 2's "L"
  // suffixes): an optional sign, then a decimal number without leading zeros
  // (but "00"), or a 0x, 0o or 0b one, single underscores between digits,
  // or one in parentheses. A negative one is refused (NumPy takes -1 as
  // "whatever the file holds"; no writer does).
  int64_t dimension() {
    skip_space();
    bool negative = false;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
      negative = s_[i_++] == '-';
      skip_space();
    }
    if (peek('(')) {
      ++i_;
      const int64_t inner = dimension();
      expect(')');
      if (negative && inner != 0) fail("a negative dimension");
      return inner;
    }
    int base = 10;
    if (i_ + 1 < s_.size() && s_[i_] == '0') {
      const char p = static_cast<char>(s_[i_ + 1] | 0x20);
      base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
      if (base != 10) i_ += 2;
    }
    auto digit = [&](size_t at) -> int {
      if (at >= s_.size()) return -1;
      const char c = s_[at];
      const int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
      return d < base ? d : -1;
    };
    size_t digits = 0;
    bool nonzero_after_zero = false;
    int64_t v = 0;
    for (;; ++i_) {
      // After a base's prefix an underscore may come first ("0x_1f").
      if (i_ < s_.size() && s_[i_] == '_' && (digits > 0 || base != 10) && digit(i_ + 1) >= 0) ++i_;
      const int d = digit(i_);
      if (d < 0) break;
      if (base == 10 && digits > 0 && v == 0 && d != 0) nonzero_after_zero = true;
      if (v > (int64_t{1} << 48)) fail("dimension too large");
      v = v * base + d;
      ++digits;
    }
    if (digits == 0) fail("expected a dimension");
    if (nonzero_after_zero) fail("a dimension with a leading zero");
    skip_space();
    if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2's long (a token of its own)
    if (negative && v != 0) fail("a negative dimension");
    return v;
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

uint32_t read_le(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}

// Python's repr of a shape tuple: "()", "(3,)", "(2, 3)".
std::string shape_repr(const Shape& s) {
  std::string out = "(";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// IEEE 754 binary16 to binary32 (exact).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf, NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalize
    exp = 113;
    while (!(mant & 0x400)) mant <<= 1, --exp;
    bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// One element of a whole-number dtype ('i' signed, 'u' unsigned, 'b' bool; `item`
// bytes, this machine's order) as a double (exact up to 2^53).
double whole_number(const uint8_t* src, char kind, size_t item) {
  uint64_t u = 0;
  std::memcpy(&u, src, item);  // little-endian host: the low bytes
  if (kind == 'b') return u != 0;
  if (kind == 'u') return static_cast<double>(u);
  const int shift = int(64 - 8 * item);
  return static_cast<double>(static_cast<int64_t>(u << shift) >> shift);  // sign-extended
}

// The file's elements (`item` bytes each, byte-swapped when `swapped`, in
// Fortran order when `fortran`: the first index fastest) into `t`, C order,
// float16 widened to float32, whole numbers (`kind` 'i', 'u', 'b') to float64.
void to_c_order_native(uint8_t* raw, size_t item, char kind, bool swapped, bool fortran, const Shape& shape, Tensor& t) {
  const size_t n = static_cast<size_t>(t.numel());
  if (swapped)
    for (size_t i = 0; i < n; ++i) std::reverse(raw + i * item, raw + (i + 1) * item);
  const size_t out_item = dtype_size(t.dtype());
  auto* out = static_cast<uint8_t*>(t.raw());
  // C index i -> the file's index: the same multi-index, strides from the first dimension.
  std::vector<size_t> fstride(shape.size(), 1);
  for (size_t d = 1; d < shape.size(); ++d) fstride[d] = fstride[d - 1] * size_t(shape[d - 1]);
  std::vector<size_t> idx(shape.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    size_t at = i;
    if (fortran) {
      at = 0;
      for (size_t d = 0; d < shape.size(); ++d) at += idx[d] * fstride[d];
      for (size_t d = shape.size(); d-- > 0;) {  // next C multi-index: the last dimension fastest
        if (++idx[d] < size_t(shape[d])) break;
        idx[d] = 0;
      }
    }
    const uint8_t* src = raw + at * item;
    if (kind != 'f') {
      const double v = whole_number(src, kind, item);
      std::memcpy(out + i * out_item, &v, 8);
    } else if (item == 2) {
      uint16_t h;
      std::memcpy(&h, src, 2);
      const float f = half_to_float(h);
      std::memcpy(out + i * out_item, &f, 4);
    } else {
      std::memcpy(out + i * out_item, src, item);
    }
  }
}

// The array in `size` bytes that read_at(offset, dst, n) copies out (ranges
// within size); `path` names the source in messages.
Tensor parse_npy_source(uint64_t file_size, const std::function<void(uint64_t, void*, size_t)>& read_at,
                        const std::string& path, bool whole_numbers = false) {
  unsigned char pre[12] = {};
  read_at(0, pre, static_cast<size_t>(std::min<uint64_t>(file_size, sizeof pre)));
  if (file_size < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0) bad_npy(path, "bad magic; not a .npy file");
  if (file_size < 10) bad_npy(path, "truncated in the preamble");
  const int major = pre[6], minor = pre[7];
  if ((major != 1 && major != 2) || minor != 0)
    bad_npy(path, "format version " + std::to_string(major) + "." + std::to_string(minor) + " is not supported (1.0 or 2.0)");
  const int len_bytes = major == 1 ? 2 : 4;
  if (file_size < 8u + len_bytes) bad_npy(path, "truncated in the preamble");
  const uint32_t header_len = read_le(pre + 8, len_bytes);
  const uint64_t data_start = 8u + len_bytes + header_len;
  if (header_len > kMaxNpyHeader) bad_npy(path, "header length " + std::to_string(header_len) + " is implausible");
  if (data_start > file_size) bad_npy(path, "truncated in the header");
  std::string text(header_len, '\0');
  read_at(static_cast<uint64_t>(8 + len_bytes), text.data(), header_len);
  const HeaderParser::Header h = HeaderParser(text, path).parse();
  // NumPy writes up to 32 dimensions; a tensor here holds 6.
  if (h.shape.size() > static_cast<size_t>(kMaxDims))
    bad_npy(path, "the array has " + std::to_string(h.shape.size()) + " dimensions; at most " +
                      std::to_string(kMaxDims) + " are read");

  // Floats of 2, 4 or 8 bytes in either byte order ('=' is this machine's,
  // little-endian); float16 becomes float32, which holds it exactly.
  // With whole_numbers, also integers of 1, 2, 4 or 8 bytes and bools
  // ('|i1', '<i8', '|u1', '|b1', ...), as float64.
  const bool is_float = h.descr.size() == 3 && (h.descr[0] == '<' || h.descr[0] == '>' || h.descr[0] == '=') &&
                        h.descr[1] == 'f' && (h.descr[2] == '2' || h.descr[2] == '4' || h.descr[2] == '8');
  const bool is_whole = whole_numbers && h.descr.size() == 3 &&
                        (h.descr[0] == '<' || h.descr[0] == '>' || h.descr[0] == '=' || h.descr[0] == '|') &&
                        ((h.descr[1] == 'b' && h.descr[2] == '1') ||
                         ((h.descr[1] == 'i' || h.descr[1] == 'u') &&
                          (h.descr[2] == '1' || h.descr[2] == '2' || h.descr[2] == '4' || h.descr[2] == '8')));
  if (!is_float && !is_whole)
    bad_npy(path, "dtype '" + h.descr + "' is not supported (only float16, float32 or float64: '<f2', '<f4', '<f8'" +
                  (whole_numbers ? std::string(", or integers and bools: '<i8', '|u1', '|b1', ...)") : std::string(")")));
  const size_t file_item = size_t(h.descr[2] - '0');
  const bool swapped = h.descr[0] == '>';
  const DType dtype = file_item == 8 || is_whole ? DType::f64 : DType::f32;
  const uint64_t have = file_size - data_start;
  // The element count is formed with an overflow check: a header's shape must
  // not wrap around to a size the file happens to have.
  uint64_t want = file_item;
  for (int64_t d : h.shape)
    if (__builtin_mul_overflow(want, static_cast<uint64_t>(d), &want))
      bad_npy(path, "shape " + shape_str(h.shape) + " is too large");
  if (have < want)
    bad_npy(path, "truncated: shape " + shape_str(h.shape) + " needs " + std::to_string(want) + " data bytes, the file has " +
                  std::to_string(have));
  if (have > want)
    bad_npy(path, std::to_string(have - want) + " bytes after the data of shape " + shape_str(h.shape));
  // The memory for a shape the file really fills (a sparse file can claim
  // terabytes in a few kilobytes of disk): a failure names the file.
  Tensor t;
  std::vector<uint8_t> raw;
  const bool direct = is_float && file_item == dtype_size(dtype) && !swapped && !h.fortran_order;
  try {
    t = Tensor::empty(h.shape, dtype, Device::cpu());
    if (!direct) raw.resize(static_cast<size_t>(want));
  } catch (const Error& e) {
    bad_npy(path, "shape " + shape_str(h.shape) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    bad_npy(path, "shape " + shape_str(h.shape) + ": out of memory for " + std::to_string(want) + " bytes");
  }
  if (direct) {
    read_at(data_start, t.raw(), static_cast<size_t>(want));
    return t;
  }
  read_at(data_start, raw.data(), raw.size());
  to_c_order_native(raw.data(), file_item, h.descr[1], swapped, h.fortran_order, h.shape, t);
  return t;
}

}  // namespace

Tensor read_npy(const std::string& path, bool whole_numbers) {
  std::string why;
  std::ifstream f = open_input(path, why, /*seekable=*/true);
  if (!f.is_open()) bad_npy(path, why);
  f.seekg(0, std::ios::end);
  const uint64_t file_size = static_cast<uint64_t>(f.tellg());
  return parse_npy_source(file_size, [&](uint64_t at, void* dst, size_t n) {
    f.seekg(static_cast<std::streamoff>(at));
    f.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!f) bad_npy(path, "read failed");
  }, path, whole_numbers);
}

namespace {

template <class T, class Bad>
int64_t first_where(const Tensor& t, Bad bad) {
  const T* p = static_cast<const T*>(t.raw());
  for (int64_t i = 0; i < t.numel(); ++i)
    if (bad(p[i])) return i;
  return -1;
}

template <class Bad>
int64_t first_where(const Tensor& t, const char* op, Bad bad) {
  GF_CHECK(t.device().is_cpu() && (t.dtype() == DType::f32 || t.dtype() == DType::f64), op,
           "expects a float32 or float64 CPU tensor, got " << t.desc());
  return t.dtype() == DType::f32 ? first_where<float>(t, bad) : first_where<double>(t, bad);
}

}  // namespace

int64_t first_nonfinite(const Tensor& t) {
  return first_where(t, "first_nonfinite", [](double v) { return !std::isfinite(v); });
}

int64_t first_nan_or_minus_inf(const Tensor& t) {
  return first_where(t, "first_nan_or_minus_inf", [](double v) { return std::isnan(v) || v == -std::numeric_limits<double>::infinity(); });
}

int64_t first_negative(const Tensor& t) {
  return first_where(t, "first_negative", [](double v) { return !(v >= 0); });
}

void check_finite(const Tensor& t, const std::string& what) {
  GF_CHECK(t.device().is_cpu() && (t.dtype() == DType::f32 || t.dtype() == DType::f64), "check_finite",
           "expects a float32 or float64 CPU tensor, got " << t.desc());
  const int64_t n = t.numel();
  int64_t at = first_nonfinite(t);
  // A float64 value past float32's range passes as finite and becomes an
  // infinity where the networks read it (they compute in float32).
  bool beyond_f32 = false;
  if (t.dtype() == DType::f64) {
    const double* d = static_cast<const double*>(t.raw());
    for (int64_t i = 0; i < (at < 0 ? n : at); ++i)
      if (std::fabs(d[i]) > std::numeric_limits<float>::max()) {
        at = i;
        beyond_f32 = true;
        break;
      }
  }
  if (at < 0) return;
  const double v = t.dtype() == DType::f32 ? static_cast<const float*>(t.raw())[at] : static_cast<const double*>(t.raw())[at];
  // The flat index as one index per dimension, as NumPy prints it.
  std::vector<int64_t> index(t.shape().size());
  int64_t rest = at;
  for (size_t d = index.size(); d-- > 0;) {
    index[d] = rest % t.shape()[d];
    rest /= t.shape()[d];
  }
  std::string where;
  for (int64_t i : index) where += (where.empty() ? "" : ", ") + std::to_string(i);
  if (beyond_f32) {
    throw Error(what + ": element [" + where + "] is " + g_format(v) +
                ", beyond float32's range (the networks compute in float32; the array must hold finite float32 numbers)");
  }
  throw Error(what + ": element [" + where + "] is " + (std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf") +
              " (the array must hold finite numbers)");
}

Tensor read_input_npy(const std::string& path, const std::string& flag, bool whole_numbers) {
  const Tensor t = read_npy(path, whole_numbers);
  check_finite(t, flag + " " + path);
  return t;
}

Tensor parse_npy_from(uint64_t size, const std::function<void(uint64_t, void*, size_t)>& read_at,
                      const std::string& name) {
  return parse_npy_source(size, read_at, name);
}

Tensor parse_npy(const uint8_t* data, size_t n, const std::string& name) {
  return parse_npy_source(n, [&](uint64_t at, void* dst, size_t k) { std::memcpy(dst, data + at, k); }, name);
}

// The preamble and header of a version 1.0 file of a C-order array, as
// numpy.lib.format writes them: sorted keys, room for the first dimension to
// grow to 21 digits, then spaces and a newline up to a multiple of 64 bytes.
std::string npy_header(DType dtype, const Shape& shape) {
  std::string header = std::string("{'descr': '") + (dtype == DType::f32 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  if (!shape.empty()) header.append(21 - std::to_string(shape[0]).size(), ' ');
  const size_t preamble = kMagicLen + 2 + 2;
  header.append(64 - (preamble + header.size() + 1) % 64, ' ');
  header += '\n';
  GF_CHECK(header.size() <= 65535, "npy_bytes", "header too long for format 1.0");
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(header.size() & 0xff),
                                 static_cast<unsigned char>(header.size() >> 8)};
  return std::string(reinterpret_cast<const char*>(pre), sizeof pre) + header;
}

std::string npy_bytes(const Tensor& t) {
  GF_CHECK(t.defined() && (t.dtype() == DType::f32 || t.dtype() == DType::f64), "npy_bytes",
           "only float32 and float64 tensors are written");
  const Tensor h = t.detach().to(Device::cpu());
  std::string out = npy_header(h.dtype(), h.shape());
  out.append(static_cast<const char*>(h.raw()), static_cast<size_t>(h.nbytes()));
  return out;
}

// The header, then the data straight from the tensor (a device tensor is
// copied to the host once): no copy of the whole file in memory, which for a
// batch of images doubled what the program held. Chunks of 16 MiB, so that a
// full disk stops the write at the first one that fails.
void write_npy(std::ostream& f, const Tensor& t, const std::string& name) {
  GF_CHECK(t.defined() && (t.dtype() == DType::f32 || t.dtype() == DType::f64), "save_npy",
           name << ": only float32 and float64 tensors are written");
  const Tensor h = t.detach().to(Device::cpu());
  const std::string header = npy_header(h.dtype(), h.shape());
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  const char* data = static_cast<const char*>(h.raw());
  constexpr size_t kChunk = size_t(16) << 20;
  for (size_t at = 0, n = static_cast<size_t>(h.nbytes()); at < n && f; at += kChunk)
    f.write(data + at, static_cast<std::streamsize>(std::min(kChunk, n - at)));
}

void save_npy(const std::string& path, const Tensor& t) {
  io::write_atomic(path, [&](std::ostream& f) { write_npy(f, t, path); }, "");  // the error names the file
}

}  // namespace gf::io
