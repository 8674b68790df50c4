#include "data/images/pnm_as_pil.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "engine/error.h"
#include "data/images/image_io.h"
#include "data/python_int.h"

namespace gf {
namespace {

constexpr size_t kTokenMax = 10;             // Pillow's limit on a token's length, in the header and the data
constexpr size_t kPilBlock = size_t(1) << 20;  // ImageFile.SAFEBLOCK: the plain decoders' read size

// Python's bytes.isspace() characters, which also split tokens.
bool space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The data as Pillow's ppm_plain decoder sees it: blocks of kPilBlock bytes
// from the header's end, with its handling of comments between blocks.
class PlainBlocks {
 public:
  PlainBlocks(const uint8_t* d, size_t n, size_t at) : d_(d), n_(n), at_(at) {}

  std::string next() {
    const size_t take = std::min(kPilBlock, n_ - std::min(at_, n_));
    std::string b(reinterpret_cast<const char*>(d_) + std::min(at_, n_), take);
    at_ += take;
    return b;
  }

  // A block without its comments ('#' to the end of its line), as Pillow's
  // _ignore_comments: a comment still open at a block's end drops the start
  // of the next block(s) up to its line's end.
  std::string without_comments(std::string block) {
    if (comment_open_) {
      while (!block.empty()) {
        const long end = comment_end(block, 0);
        if (end != -1) {
          block = block.substr(size_t(end) + 1);
          break;
        }
        block = next();
      }
    }
    comment_open_ = false;
    // Pillow cuts one comment at a time out of the block (quadratic in the
    // comments of a block); one pass gives the same bytes: after a '#' no
    // LF or CR sits at 0, where its test slips.
    std::string out;
    out.reserve(block.size());
    for (size_t at = 0;;) {
      const size_t start = block.find('#', at);
      out.append(block, at, start == std::string::npos ? std::string::npos : start - at);
      if (start == std::string::npos) break;
      const size_t end = block.find_first_of("\r\n", start);
      if (end == std::string::npos) {
        comment_open_ = true;
        break;
      }
      at = end + 1;
    }
    return out;
  }

  bool comment_open() const { return comment_open_; }

 private:
  // Pillow's _find_comment_end for a comment open from an earlier block:
  // the lower of the first LF and CR, except where one of them is at 0, when
  // it takes the greater (its test is a * b > 0).
  static long comment_end(const std::string& b, size_t start) {
    const size_t lf = b.find('\n', start), cr = b.find('\r', start);
    const long a = lf == std::string::npos ? -1 : long(lf), c = cr == std::string::npos ? -1 : long(cr);
    return a * c > 0 ? std::min(a, c) : std::max(a, c);
  }

  const uint8_t* d_;
  size_t n_, at_;
  bool comment_open_ = false;
};

std::vector<std::string> split(const std::string& b) {
  std::vector<std::string> tokens;
  for (size_t i = 0; i < b.size();) {
    while (i < b.size() && space(uint8_t(b[i]))) ++i;
    const size_t start = i;
    while (i < b.size() && !space(uint8_t(b[i]))) ++i;
    if (i > start) tokens.push_back(b.substr(start, i - start));
  }
  return tokens;
}

// A printable form of a token for a message.
std::string shown(const std::string& t) {
  std::string s;
  for (char c : t) s += (c >= 0x20 && c < 0x7F) ? std::string(1, c) : "?";
  return "'" + s + "'";
}

// P1: one character a pixel, whitespace between them optional (Pillow's _decode_bitonal).
std::vector<uint8_t> decode_p1(const uint8_t* d, size_t n, const PnmPlainHeader& h, const std::string& name) {
  const size_t total = size_t(h.width) * size_t(h.height);
  std::vector<uint8_t> px;
  // Grown as the samples come (not reserved: a header may claim far more than the file holds).
  PlainBlocks blocks(d, n, h.data_at);
  while (px.size() != total) {
    std::string block = blocks.next();
    if (block.empty()) break;
    block = blocks.without_comments(block);
    std::string bits;
    for (char c : block)
      if (!space(uint8_t(c))) bits += c;
    for (char c : bits)  // every character of the block is checked, those past the image's end too
      if (c != '0' && c != '1') throw Error(name + ": unreadable PNM (a P1 pixel " + shown(std::string(1, c)) + ", not 0 or 1)");
    for (size_t i = 0; i < bits.size() && px.size() < total; ++i) px.push_back(bits[i] == '1' ? 0 : 255);
  }
  if (px.size() != total) throw Error(name + ": truncated PNM: the file ends before its pixels do");
  return px;
}

// P2, P3: numbers between whitespace (Pillow's _decode_blocks).
std::vector<uint8_t> decode_p2_p3(const uint8_t* d, size_t n, const PnmPlainHeader& h, const std::string& name) {
  const size_t total = size_t(h.width) * size_t(h.height) * size_t(h.channels);
  std::vector<uint8_t> px;
  // Grown as the samples come (not reserved: a header may claim far more than the file holds).
  PlainBlocks blocks(d, n, h.data_at);
  std::string half;  // Pillow's half_token: never cleared once set
  auto too_long = [&](const std::string& t) {
    throw Error(name + ": unreadable PNM (a sample " + shown(t.substr(0, kTokenMax + 1)) + "... longer than " +
                std::to_string(kTokenMax) + " characters)");
  };
  // One sample, checked as Pillow checks it, appended as its byte.
  auto push = [&](const std::string& t) {
    if (t.size() > kTokenMax) too_long(t);
    const std::optional<int64_t> v = python_int(t);
    if (!v) throw Error(name + ": unreadable PNM (a sample " + shown(t) + " that is no number)");
    if (*v > h.maxval)
      throw Error(name + ": unreadable PNM (a sample of " + std::to_string(*v) + ", above its maxval of " +
                  std::to_string(h.maxval) + ")");
    if (h.maxval > 255 && h.channels == 1) {  // Pillow's 'I' (0..65535); 8 bits as a binary PNM's
      if (*v < 0) throw Error(name + ": unreadable PNM (a sample of " + std::to_string(*v) + ", below 0)");
      px.push_back(sample_to_8_bit(uint32_t(*v), uint32_t(h.maxval)));
    } else {  // Pillow's o8: round(v / maxval * 255), its byte
      px.push_back(uint8_t(int64_t(std::nearbyint(double(*v) / double(h.maxval) * 255.0)) & 255));
    }
  };
  while (px.size() != total) {
    std::string block = blocks.next();
    if (block.empty()) {
      if (half.empty()) break;
      if (!blocks.comment_open()) {  // Pillow adds `half` once a pass until the image is full: at once here
        push(half);
        px.resize(total, px.back());
        break;
      }
      block = " ";
    }
    block = blocks.without_comments(block);
    if (!half.empty()) block = half + block;
    std::vector<std::string> tokens = split(block);
    if (!block.empty() && !space(uint8_t(block.back()))) {  // the block may end inside a token
      half = tokens.back();
      tokens.pop_back();
      if (half.size() > kTokenMax) too_long(half);
    }
    for (const std::string& t : tokens) {
      push(t);
      if (px.size() == total) break;
    }
  }
  if (px.size() != total) throw Error(name + ": truncated PNM: the file ends before its pixels do");
  return px;
}

// P4: rows of whole bytes, the first pixel in the top bit, a set bit black.
std::vector<uint8_t> decode_p4(const uint8_t* d, size_t n, const PnmPlainHeader& h, const std::string& name) {
  const size_t row = (size_t(h.width) + 7) / 8;
  if (h.data_at > n || (n - h.data_at) / row < size_t(h.height))
    throw Error(name + ": truncated PNM: the file ends before its pixels do");
  std::vector<uint8_t> px(size_t(h.width) * size_t(h.height));
  for (size_t y = 0; y < size_t(h.height); ++y)
    for (size_t x = 0; x < size_t(h.width); ++x)
      px[y * size_t(h.width) + x] = (d[h.data_at + y * row + x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
  return px;
}

}  // namespace

PnmPlainHeader pnm_plain_header(const uint8_t* d, size_t n) {
  PnmPlainHeader h;
  // The magic: up to 6 characters before whitespace or the end.
  size_t at = 0;
  std::string magic;
  while (at < n && magic.size() < 6) {
    const uint8_t c = d[at++];
    if (space(c)) break;
    magic += char(c);
  }
  if (magic.size() != 2 || magic[0] != 'P' || magic[1] < '1' || magic[1] > '4') return h;
  h.kind = magic[1];
  h.channels = h.kind == '3' ? 3 : 1;
  static const char* const kNames[3] = {"width", "height", "maxval"};
  const int fields = h.kind == '1' || h.kind == '4' ? 2 : 3;
  for (int field = 0; field < fields; ++field) {
    std::string token;  // Pillow's _read_token
    while (token.size() <= kTokenMax) {
      if (at >= n) break;
      const uint8_t c = d[at++];
      if (space(c)) {
        if (token.empty()) continue;
        break;
      }
      if (c == '#') {  // the rest of the line, up to CR, LF or the end
        while (at < n && d[at] != '\r' && d[at] != '\n') ++at;
        if (at < n) ++at;
        continue;
      }
      token += char(c);
    }
    if (token.empty()) {
      h.problem = std::string("the file ends before its ") + kNames[field];
      return h;
    }
    if (token.size() > kTokenMax) {
      h.problem = std::string("its ") + kNames[field] + " is longer than 10 characters";
      return h;
    }
    const std::optional<int64_t> v = python_int(token);
    if (!v) {
      h.problem = std::string("its ") + kNames[field] + " " + shown(token) + " is not a whole number";
      return h;
    }
    (field == 0 ? h.width : field == 1 ? h.height : h.maxval) = *v;
  }
  if (fields == 3 && !(h.maxval > 0 && h.maxval < 65536)) h.problem = "its maxval is not in [1, 65535]";
  h.data_at = at;
  return h;
}

std::vector<uint8_t> decode_pnm_plain(const uint8_t* d, size_t n, const std::string& name) {
  const PnmPlainHeader h = pnm_plain_header(d, n);
  GF_CHECK(h.kind != 0 && h.problem.empty() && h.width > 0 && h.height > 0, "decode_pnm_plain",
           name << ": not a P1-P4 file whose header Pillow reads");
  if (h.kind == '4') return decode_p4(d, n, h, name);
  if (h.kind == '1') return decode_p1(d, n, h, name);
  return decode_p2_p3(d, n, h, name);
}

}  // namespace gf
