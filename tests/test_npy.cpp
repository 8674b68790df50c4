// .npy files: a bit-exact round trip, byte-for-byte agreement with numpy.save,
// and one clear error per kind of bad file.
//
// The fixtures in tests/data were written by NumPy 1.24 (run in tests/data):
//   /usr/bin/python3 -c "import numpy as np;
//     np.save('npy_f32_2x3.npy', (np.arange(6, dtype='<f4').reshape(2, 3) / 4 - 0.5).astype('<f4'));
//     np.save('npy_f64_3.npy', np.array([0.1, -2.5, 1e-3]));
//     np.save('z_2x16.npy', np.random.RandomState(0).randn(2, 16).astype('<f4'))"
// (z_2x16.npy is the latent batch of the generate ctests; the tiny config has z_dim 16.)
// and for the shapes save_npy streams (NumPy 1.24.2):
//   /usr/bin/python3 -c "import numpy as np;
//     np.save('npy_f64_scalar.npy', np.array(-0.75));
//     np.save('npy_f32_1000000x0.npy', np.zeros((1000000, 0), '<f4'));
//     np.save('npy_f64_2x3x4.npy', (np.arange(24) / 4 - 1).reshape(2, 3, 4));
//     np.save('npy_f32_1x1x1x70.npy', (np.arange(70, dtype='<f4') / 8).reshape(1, 1, 1, 70))"
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::file_bytes;
namespace fs = std::filesystem;

namespace {

const std::string kData = GF_TEST_DATA_DIR;

// A path in one per-process folder that goes when the tests end (a test
// that stops at a failed check leaves no file behind).
std::string temp_path(const std::string& name) {
  static const test::TempDir dir("npy");
  return dir / name;
}

// A version 1.0 file with the given header text (padded with a newline) and
// `data_bytes` zero bytes of data.
std::string write_raw(const std::string& name, const std::string& header, size_t data_bytes,
                      const std::string& magic = std::string("\x93NUMPY\x01\x00", 8)) {
  const std::string path = temp_path(name);
  std::string h = header + "\n";
  std::string out = magic;
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  out += h + std::string(data_bytes, '\0');
  std::ofstream(path, std::ios::binary) << out;
  return path;
}

std::string read_error(const std::string& path) {
  try {
    io::read_npy(path);
  } catch (const Error& e) {
    fs::remove(path);
    return e.what();
  }
  fs::remove(path);
  return "(no error)";
}

}  // namespace

TEST_CASE("npy: float32 and float64 tensors round-trip bit for bit", "[npy]") {
  for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3}, Shape{2, 1, 3, 4}}) {
    for (DType dt : {DType::f32, DType::f64}) {
      const Tensor t = test::random_tensor(shape, 7, dt);
      const std::string path = temp_path("rt.npy");
      io::save_npy(path, t);
      const Tensor back = io::read_npy(path);
      fs::remove(path);
      REQUIRE(back.shape() == shape);
      REQUIRE(back.dtype() == dt);
      REQUIRE(std::memcmp(back.raw(), t.raw(), t.nbytes()) == 0);
    }
  }
}

TEST_CASE("npy: reads NumPy's files and writes the same bytes as numpy.save", "[npy]") {
  const Tensor a = io::read_npy(kData + "/npy_f32_2x3.npy");
  REQUIRE(a.shape() == Shape{2, 3});
  REQUIRE(a.dtype() == DType::f32);
  REQUIRE(a.to_vector() == std::vector<double>{-0.5, -0.25, 0, 0.25, 0.5, 0.75});
  const std::string path = temp_path("same.npy");
  io::save_npy(path, a);
  const std::string ours = file_bytes(path);
  fs::remove(path);
  REQUIRE(ours == file_bytes(kData + "/npy_f32_2x3.npy"));
  REQUIRE(ours.find('\n') + 1 == 128);  // data aligned to 64 bytes

  const Tensor b = io::read_npy(kData + "/npy_f64_3.npy");
  REQUIRE(b.shape() == Shape{3});
  REQUIRE(b.dtype() == DType::f64);
  REQUIRE(b.to_vector() == std::vector<double>{0.1, -2.5, 1e-3});

  const Tensor z = io::read_npy(kData + "/z_2x16.npy");
  REQUIRE(z.shape() == Shape{2, 16});
  REQUIRE(z.to_vector()[0] == Approx(1.7640524));  // RandomState(0).randn()'s first value
}

// save_npy writes the header and then the tensor's bytes as they are, no
// longer a copy of the whole file built first: the same bytes as numpy.save
// for each dtype and a scalar, an empty array with a 7-digit dimension, 3-D
// and 4-D shapes, and the same as npy_bytes (the .npz entries) for random ones.
TEST_CASE("npy: save_npy streams the bytes numpy.save writes", "[npy]") {
  for (const char* name : {"npy_f64_scalar", "npy_f32_1000000x0", "npy_f64_2x3x4", "npy_f32_1x1x1x70", "npy_f32_2x3"}) {
    INFO(name);
    const std::string theirs = kData + "/" + name + ".npy";
    const Tensor a = io::read_npy(theirs);
    const std::string path = temp_path("stream.npy");
    io::save_npy(path, a);
    CHECK(file_bytes(path) == file_bytes(theirs));
    fs::remove(path);
  }
  CHECK(io::read_npy(kData + "/npy_f64_scalar.npy").to_vector() == std::vector<double>{-0.75});
  CHECK(io::read_npy(kData + "/npy_f32_1x1x1x70.npy").to_vector()[69] == 69.0 / 8);
  for (const Shape& shape : {Shape{3, 0, 2}, Shape{1}, Shape{7, 5, 3}, Shape{2, 1 << 16}})
    for (DType dt : {DType::f32, DType::f64}) {
      const Tensor t = test::random_tensor(shape, 11, dt);
      const std::string path = temp_path("stream.npy");
      io::save_npy(path, t);
      CHECK(file_bytes(path) == io::npy_bytes(t));
      fs::remove(path);
    }
}

namespace {

// Runs body in a child process and returns its exit status (-1: it died of a signal).
template <typename F>
int in_child(F body) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(body());
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

// Memory: a child may grow its address space by half the tensor's size, and
// save_npy still writes the whole 32 MiB tensor (building the file in memory
// first needed as much again as the tensor).
TEST_CASE("npy: save_npy needs no copy of the data in memory", "[npy]") {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GF_TEST_NPY_ASAN 1  // clang's way of saying it
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(GF_TEST_NPY_ASAN) || defined(GF_ASAN)
  WARN("not under AddressSanitizer, whose allocator maps its own memory");
  return;
#endif
  const Tensor t = test::random_tensor({8, 1 << 20}, 5, DType::f32);
  const std::string path = temp_path("big.npy");
  const int status = in_child([&] {
    if (test::limit_address_space(t.nbytes() / 2) == 0) return 4;
    try {
      io::save_npy(path, t);
    } catch (...) {
      return 1;
    }
    return 0;
  });
  CHECK(status == 0);
  const Tensor back = io::read_npy(path);
  fs::remove(path);
  REQUIRE(back.shape() == t.shape());
  CHECK(std::memcmp(back.raw(), t.raw(), t.nbytes()) == 0);
}

// A write that fails half-way (the file size limit, as a full disk would)
// throws, keeps the older file and leaves no temporary.
TEST_CASE("npy: a failed save_npy keeps the older file and leaves no temporary", "[npy]") {
  const std::string path = temp_path("failed.npy");
  const Tensor small = test::random_tensor({2, 3}, 1, DType::f32);
  io::save_npy(path, small);
  const std::string before = file_bytes(path);
  const Tensor big = test::random_tensor({4, 1 << 16}, 2, DType::f64);  // 2 MiB
  pid_t writer = 0;
  int pid_pipe[2];
  REQUIRE(::pipe(pid_pipe) == 0);
  const int status = in_child([&] {
    const pid_t me = ::getpid();
    if (::write(pid_pipe[1], &me, sizeof me) != sizeof me) return 5;
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead of killing the process
    struct rlimit lim {};
    lim.rlim_cur = lim.rlim_max = 64 << 10;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return 4;
    try {
      io::save_npy(path, big);
    } catch (const Error& e) {
      return std::string(e.what()) == "cannot write " + path + ": " + std::strerror(EFBIG) ? 0 : 2;
    }
    return 1;
  });
  REQUIRE(::read(pid_pipe[0], &writer, sizeof writer) == sizeof writer);
  ::close(pid_pipe[0]);
  ::close(pid_pipe[1]);
  CHECK(status == 0);
  CHECK(file_bytes(path) == before);
  CHECK_FALSE(fs::exists(path + "." + std::to_string(writer) + ".tmp"));
  fs::remove(path);
}

TEST_CASE("npy: a header with any key order, double quotes and a version 2.0 preamble is read", "[npy]") {
  const std::string v1 = write_raw("keys.npy", "{\"shape\": (2,), 'fortran_order': False, 'descr': '<f4'}", 8);
  REQUIRE(io::read_npy(v1).shape() == Shape{2});
  fs::remove(v1);
  // Version 2.0: a 4-byte header length.
  const std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }\n";
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  for (int k = 0; k < 4; ++k) bytes += static_cast<char>(h.size() >> (8 * k));
  bytes += h + std::string(4, '\0');
  const std::string v2 = temp_path("v2.npy");
  std::ofstream(v2, std::ios::binary) << bytes;
  REQUIRE(io::read_npy(v2).shape() == Shape{1, 1});
  fs::remove(v2);
}

TEST_CASE("npy: Fortran order, big-endian and float16 arrays are read in C order as NumPy holds them", "[npy]") {
  auto file = [](const std::string& name, const std::string& descr, bool fortran, const std::string& data) {
    const std::string path = temp_path(name);
    std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (2, 3), }\n";
    std::ofstream(path, std::ios::binary) << std::string("\x93NUMPY\x01\x00", 8) << char(h.size()) << char(0) << h << data;
    return path;
  };
  // a = [[0, 1, 2], [3, 4, 5]]: in Fortran order the file holds a column at a time, 0 3 1 4 2 5.
  std::string f_order;
  for (float v : {0.f, 3.f, 1.f, 4.f, 2.f, 5.f}) f_order.append(reinterpret_cast<const char*>(&v), 4);
  const Tensor f = io::read_npy(file("fortran.npy", "<f4", true, f_order));
  CHECK(f.shape() == Shape{2, 3});
  CHECK(f.to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5});
  // '>f8': each double's bytes reversed; also in Fortran order.
  std::string be;
  for (double v : {0.5, 3.0, -1.0, 4.0, 2.0, 1e300}) {
    std::string b(reinterpret_cast<const char*>(&v), 8);
    be.append(b.rbegin(), b.rend());
  }
  const Tensor d = io::read_npy(file("be.npy", ">f8", true, be));
  CHECK(d.dtype() == DType::f64);
  CHECK(d.to_vector() == std::vector<double>{0.5, -1.0, 2.0, 3.0, 4.0, 1e300});
  // '<f2' widened to float32 exactly: 1, -2, 65504 (the largest), 2^-24 (the smallest subnormal), inf, 2^-14 (the smallest normal).
  std::string half;
  for (uint16_t v : {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x0400}) half.append(reinterpret_cast<const char*>(&v), 2);
  const Tensor h = io::read_npy(file("half.npy", "<f2", false, half));
  CHECK(h.dtype() == DType::f32);
  CHECK(h.to_vector() == std::vector<double>{1, -2, 65504, std::ldexp(1.0, -24), INFINITY, std::ldexp(1.0, -14)});
}

// Labels (--c) may be integer or bool arrays: the official networks cast c
// to float32. Read on request only, exactly, in either byte order and memory order.
TEST_CASE("npy: integer and bool arrays are read as float64 where whole numbers are asked for", "[npy]") {
  auto file = [](const std::string& name, const std::string& descr, bool fortran, const std::string& data) {
    const std::string path = temp_path(name);
    std::string h =
        "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (2, 3), }\n";
    std::ofstream(path, std::ios::binary) << std::string("\x93NUMPY\x01\x00", 8) << char(h.size()) << char(0) << h
                                          << data;
    return path;
  };
  auto bytes = [](auto... v) {
    std::string out;
    (out.append(reinterpret_cast<const char*>(&v), sizeof v), ...);
    return out;
  };
  const std::vector<double> want{0, 1, -2, 3, 127, -128};
  const std::string i8 =
      file("i8.npy", "<i8", false, bytes(int64_t(0), int64_t(1), int64_t(-2), int64_t(3), int64_t(127), int64_t(-128)));
  const Tensor a = io::read_npy(i8, true);
  CHECK(a.dtype() == DType::f64);
  CHECK(a.shape() == Shape{2, 3});
  CHECK(a.to_vector() == want);
  CHECK_THROWS_WITH(io::read_npy(i8), Catch::Contains("dtype '<i8' is not supported (only float16, float32 or float64"));
  // int8 in Fortran order (0 3 1 127 -2 -128 column by column); '|' is the byte order of one-byte types.
  const std::string i1 =
      file("i1.npy", "|i1", true, bytes(int8_t(0), int8_t(3), int8_t(1), int8_t(127), int8_t(-2), int8_t(-128)));
  CHECK(io::read_npy(i1, true).to_vector() == want);
  // big-endian int32 and uint16, and bools.
  std::string be;
  for (int32_t v : {0, 1, -2, 3, 127, -128}) {
    std::string b(reinterpret_cast<const char*>(&v), 4);
    be.append(b.rbegin(), b.rend());
  }
  CHECK(io::read_npy(file("be.npy", ">i4", false, be), true).to_vector() == want);
  const std::string u2 = file("u2.npy", "<u2", false,
                              bytes(uint16_t(0), uint16_t(1), uint16_t(65535), uint16_t(3), uint16_t(4), uint16_t(5)));
  CHECK(io::read_npy(u2, true).to_vector() == std::vector<double>{0, 1, 65535, 3, 4, 5});
  const std::string b1 =
      file("b1.npy", "|b1", false, bytes(uint8_t(0), uint8_t(1), uint8_t(1), uint8_t(0), uint8_t(0), uint8_t(1)));
  CHECK(io::read_npy(b1, true).to_vector() == std::vector<double>{0, 1, 1, 0, 0, 1});
  CHECK_THROWS_WITH(io::read_npy(file("c8.npy", "<c8", false, std::string(48, '\0')), true),
                    Catch::Contains("dtype '<c8' is not supported (only float16, float32 or float64: '<f2', '<f4', '<f8', "
                                    "or integers and bools"));
}

TEST_CASE("npy: each kind of bad file is one error naming the file and the problem", "[npy]") {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  using Catch::Matchers::Contains;
  // Control: the well-formed file reads.
  const std::string good = write_raw("good.npy", ok, 24);
  REQUIRE(io::read_npy(good).shape() == Shape{2, 3});
  fs::remove(good);

  const std::string trunc = write_raw("trunc.npy", ok, 23);
  CHECK_THAT(read_error(trunc), Contains(trunc) && Contains("truncated") && Contains("24"));
  CHECK_THAT(read_error(write_raw("long.npy", ok, 25)), Contains("1 bytes after the data"));
  CHECK_THAT(read_error(write_raw("i8.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", 48)),
             Contains("dtype '<i8' is not supported"));
  CHECK_THAT(read_error(write_raw("c8.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", 48)),
             Contains("dtype '<c8' is not supported"));
  CHECK_THAT(read_error(write_raw("magic.npy", ok, 24, std::string("\x93NUMPZ\x01\x00", 8))), Contains("bad magic"));
  CHECK_THAT(read_error(write_raw("v3.npy", ok, 24, std::string("\x93NUMPY\x03\x00", 8))),
             Contains("version 3.0 is not supported"));
  CHECK_THAT(read_error(write_raw("noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", 0)),
             Contains("malformed header") && Contains("required"));
  CHECK_THAT(read_error(write_raw("dim.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 0)),
             Contains("malformed header") && Contains("expected a dimension"));
  // Dimensions whose product wraps around 2^64 (to 0 bytes here) are refused, not trusted.
  CHECK_THAT(read_error(write_raw("wrap.npy",
                                  "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }", 0)),
             Contains("too large"));
  // A header length that runs past the end of the file.
  const std::string cut = temp_path("cut.npy");
  std::ofstream(cut, std::ios::binary) << std::string("\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
  CHECK_THAT(read_error(cut), Contains("truncated in the header"));
  CHECK_THAT(read_error(temp_path("missing.npy")), Contains("cannot open"));
}

// The shape tuple as NumPy 1.24's header parser reads it (ast.literal_eval,
// then for format 1.0 and 2.0 again without Python 2's "L"): each verdict
// below is numpy.load's on the same header.
TEST_CASE("npy: a shape is read as numpy.load reads it", "[npy]") {
  auto shape_of = [](const std::string& name, const std::string& tuple, size_t elements) {
    const std::string path =
        write_raw(name, "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }", 4 * elements);
    const Shape s = io::read_npy(path).shape();
    fs::remove(path);
    return s;
  };
  CHECK(shape_of("plus.npy", "(+1, 2)", 2) == Shape{1, 2});
  CHECK(shape_of("minus0.npy", "(-0, 2)", 0) == Shape{0, 2});
  CHECK(shape_of("zeros.npy", "(00, 2)", 0) == Shape{0, 2});
  CHECK(shape_of("underscore.npy", "(1_0,)", 10) == Shape{10});
  CHECK(shape_of("hex.npy", "(0x2, 0o3, 0b1, 0X_a)", 60) == Shape{2, 3, 1, 10});
  CHECK(shape_of("long.npy", "(1L, 2)", 2) == Shape{1, 2});
  CHECK(shape_of("trailing.npy", "(1,2,)", 2) == Shape{1, 2});
  CHECK(shape_of("spaces.npy", "( 1 , 2 )", 2) == Shape{1, 2});
  CHECK(shape_of("empty.npy", "()", 1) == Shape{});
  CHECK(shape_of("space_long.npy", "(3 L,)", 3) == Shape{3});
  CHECK(shape_of("nested.npy", "((3), 2)", 6) == Shape{3, 2});
  CHECK(shape_of("cr.npy", "(3\r,\f2)", 6) == Shape{3, 2});
  CHECK(shape_of("continued.npy", "(3\\\n, 2)", 6) == Shape{3, 2});
  using Catch::Matchers::Contains;
  // numpy.load refuses each of these ("Cannot parse header", "shape is not
  // valid", "an integer is required").
  for (const auto& [tuple, why] : std::vector<std::pair<std::string, std::string>>{
           {"(01, 2)", "leading zero"},
           {"(0_1,)", "leading zero"},
           {"(3)", "not a tuple"},
           {"(2.0,)", "expected ','"},
           {"(True, 2)", "expected a dimension"},
           {"(1__0,)", "expected ','"},
           {"(1_,)", "expected ','"},
           {"(0x,)", "expected a dimension"},
           {"(-1, 2)", "negative"}}) {
    const std::string path = write_raw("refused.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }", 8);
    INFO(tuple);
    CHECK_THAT(read_error(path), Contains(path) && Contains("malformed header") && Contains(why));
  }
}

// NumPy writes up to 32 dimensions; a tensor here holds 6. The tensor's own
// error named neither the file nor the flag (and a header of 60,000
// dimensions printed them all).
TEST_CASE("npy: more dimensions than a tensor holds is one error naming the file", "[npy]") {
  std::string tuple = "(";
  for (int i = 0; i < 7; ++i) tuple += "1, ";
  const std::string path = write_raw("seven.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + "), }", 4);
  CHECK(read_error(path) == "npy: " + path + ": the array has 7 dimensions; at most 6 are read");
}

// A shape the file fills but memory cannot hold (a sparse file claims
// gigabytes in a few kilobytes of disk): the error names the file and the
// shape, where the allocator's own named neither.
TEST_CASE("npy: an array too large for memory is one error naming the file", "[npy]") {
#if defined(__SANITIZE_ADDRESS__) || defined(GF_TEST_NPY_ASAN) || defined(GF_ASAN)
  WARN("not under AddressSanitizer, whose allocator maps its own memory");
  return;
#endif
  const std::string path =
      write_raw("sparse.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 4096), }", 0);
  fs::resize_file(path, fs::file_size(path) + (uint64_t{1} << 30));  // a hole: 1 GiB of zeros on no disk
  const test::ChildEnd end = test::run_with_address_limit(uint64_t{256} << 20, [&] { io::read_npy(path); });
  fs::remove(path);
  INFO(end.err);
  REQUIRE(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  CHECK(end.err.rfind("npy: " + path + ": shape [65536, 4096]: ", 0) == 0);
}
