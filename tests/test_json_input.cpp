// engine/io/json_input.h: JSON from files, and the errors users read. No
// message may carry nlohmann's bracketed tags ("[json.exception.type_error.302]").
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/io/safetensors.h"
#include "tests/testing.h"
#include "models/stylegan2/config.h"

using namespace gf;

namespace {

// The message parse_json throws for `text`.
std::string parse_error_of(const std::string& text) {
  try {
    io::parse_json(text, "dataset.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(parsed)";
}

}  // namespace

TEST_CASE("json: a type error is put in words, without the library's tag", "[json]") {
  auto text_of = [](const nlohmann::json& j, auto read) {
    try {
      read(j);
    } catch (const nlohmann::json::exception& e) {
      return io::json_error_text(e);
    }
    return std::string("(read)");
  };
  CHECK(text_of(nlohmann::json(nullptr), [](const nlohmann::json& j) { return j.get<double>(); }) == "expected a number, got null");
  CHECK(text_of(nlohmann::json("yes"), [](const nlohmann::json& j) { return j.get<bool>(); }) ==
        "expected true or false, got a string");
  CHECK(text_of(nlohmann::json::array(), [](const nlohmann::json& j) { return j.get<std::string>(); }) ==
        "expected a string, got an array");
  CHECK(text_of(nlohmann::json::object(), [](const nlohmann::json& j) { return j.at("lrate"); }) == "key 'lrate' not found");
}

TEST_CASE("json: text that is not JSON names the file and why, in words", "[json]") {
  const std::string empty = parse_error_of(""), overflow = parse_error_of("{\"labels\": [[\"a.png\", 1e400]]}");
  CHECK(empty.rfind("dataset.json: not JSON: ", 0) == 0);
  CHECK(empty.find("unexpected end of input") != std::string::npos);
  CHECK(overflow == "dataset.json: not JSON ganforge reads: number overflow parsing '1e400', a number beyond float64's "
                    "range (Python's json reads it as inf; ganforge takes finite numbers only)");
  // Python's json reads NaN and Infinity: named as such ("invalid literal").
  CHECK(parse_error_of("{\"labels\": [[\"a.png\", [NaN, 1]]]}") ==
        "dataset.json: not JSON: NaN at line 1, column 24 (Python's json reads it; JSON, and ganforge, take finite numbers only)");
  CHECK(parse_error_of("[1, -Infinity]").find("not JSON: -Infinity at line 1, column 5 ") != std::string::npos);
  CHECK(parse_error_of("[1,\n Infinity]").find("not JSON: Infinity at line 2, column 2 ") != std::string::npos);
  CHECK(parse_error_of("[Nope]").find("invalid literal") != std::string::npos);
  for (const std::string& m : {empty, overflow}) CHECK(m.find("[json.exception") == std::string::npos);
  // A NUL byte ended nlohmann's parse: what followed went unread, not refused.
  const std::string with_nul("{\"a\": 1}\0{\"b\": 2", 18);
  CHECK_THROWS_WITH(io::parse_json(with_nul, "t"), "t: not JSON: a NUL byte at byte 8");
  CHECK(io::parse_json_or_discarded(with_nul).is_discarded());
  // The depth cap holds, at the depth a value sits (its enclosing containers).
  const auto nested = [](int n) { return std::string(size_t(n), '[') + std::string(size_t(n), ']'); };
  CHECK(io::parse_json(nested(io::kMaxJsonDepth + 1), "t").is_array());
  CHECK_THROWS_WITH(io::parse_json(nested(io::kMaxJsonDepth + 2), "t"), Catch::Contains("nested deeper than"));
}

TEST_CASE("json: a repeated key is refused where keys must be unique, kept last elsewhere", "[json]") {
  const std::string text = R"({"a": {"x": 1, "y": 2}, "b": [{"x": 1}, {"x": 2}], "a2": {"x": 1, "x": 3}})";
  CHECK(io::parse_json(text, "t")["a2"]["x"] == 3);
  CHECK_THROWS_WITH(io::parse_json(text, "header", true), "header: the key \"x\" appears twice in one object");
  // The same key in sibling objects is no repeat.
  CHECK(io::parse_json(R"({"b": [{"x": 1}, {"x": 2}], "c": {"x": 3}})", "t", true)["c"]["x"] == 3);
  // A .bin naming one tensor twice: refused, not the last one loaded.
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  const std::string header = "{\"t\":" + entry + ",\"t\":" + entry + "}";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((header.size() >> (8 * i)) & 0xFF);
  bytes += header + std::string(4, '\0');
  const std::string path = (std::filesystem::temp_directory_path() / ("gf_dup_" + std::to_string(::getpid()) + ".bin")).string();
  { std::ofstream(path, std::ios::binary) << bytes; }
  CHECK_THROWS_WITH(io::read_safetensors(path), Catch::EndsWith(": header: the key \"t\" appears twice in one object"));
  std::filesystem::remove(path);
}

TEST_CASE("json: a config value of the wrong type names the key and the types", "[json]") {
  nlohmann::json g = stylegan2::to_json(stylegan2::GeneratorConfig{});
  g["use_noise"] = "yes";
  CHECK_THROWS_WITH(stylegan2::generator_config_from_json(g),
                    "generator config: key 'use_noise' has a bad value \"yes\" (expected true or false, got a string)");
  // conv_clamp: null or > 0; -1 was read as no clamp, and 0 made every image 0.
  nlohmann::json clamp = stylegan2::to_json(stylegan2::GeneratorConfig{});
  clamp["conv_clamp"] = -1.0;
  CHECK_THROWS_WITH(stylegan2::generator_config_from_json(clamp),
                    "generator config: key 'conv_clamp': expected null (no clamp) or a number > 0, got -1.0");
  clamp["conv_clamp"] = 0;
  CHECK_THROWS_WITH(stylegan2::generator_config_from_json(clamp),
                    "generator config: key 'conv_clamp': expected null (no clamp) or a number > 0, got 0");
  clamp["conv_clamp"] = 256;
  CHECK(stylegan2::generator_config_from_json(clamp).conv_clamp == 256.0);
  clamp["conv_clamp"] = nullptr;
  CHECK(!stylegan2::generator_config_from_json(clamp).conv_clamp);
}

TEST_CASE("json: Python's json.dumps layout: separators, ASCII escapes, NaN and infinities", "[json]") {
  nlohmann::ordered_json j;
  j["b"] = {1, 2.5, "é"};
  j["a"] = nlohmann::ordered_json::object({{"x", std::nan("")}, {"y", INFINITY}, {"z", -INFINITY}, {"n", nullptr}});
  // json.dumps({"b": [1, 2.5, "é"], "a": {"x": nan, "y": inf, "z": -inf, "n": None}})
  CHECK(io::python_json_text(j) ==
        "{\"b\": [1, 2.5, \"\\u00e9\"], \"a\": {\"x\": NaN, \"y\": Infinity, \"z\": -Infinity, \"n\": null}}");
}

// Python 3.11's json.dumps(v) of each (repr's shortest digits; nlohmann's
// Grisu2 wrote 4.8193660072388544 and 9474.966110658661 for the first two).
TEST_CASE("json: floats as Python's repr writes them", "[json]") {
  const std::pair<double, const char*> cases[] = {
      {4.819366007238854, "4.819366007238854"},
      {9474.96611065866, "9474.96611065866"},
      {0.1, "0.1"},
      {1e+16, "1e+16"},
      {1000000000000000.0, "1000000000000000.0"},
      {1e-05, "1e-05"},
      {0.0001, "0.0001"},
      {5e-324, "5e-324"},
      {1.7976931348623157e+308, "1.7976931348623157e+308"},
      {-0.0, "-0.0"},
      {1.2345678901234568e+17, "1.2345678901234568e+17"},
      {2.0, "2.0"},
      {0.5, "0.5"},
      {100.0, "100.0"},
      {1.5e-07, "1.5e-07"},
      {0.00012345, "0.00012345"},
      {9999999999999998.0, "9999999999999998.0"},
      {-2.5e-10, "-2.5e-10"},
      {1e+100, "1e+100"},
      {188.2981732585124, "188.2981732585124"},
      {0.30000000000000004, "0.30000000000000004"},
  };
  for (const auto& [v, want] : cases) {
    INFO(want);
    CHECK(io::python_float_repr(v) == want);
    CHECK(io::python_json_text(nlohmann::ordered_json(v)) == want);
  }
  // Every double reads back exactly, in no more characters than nlohmann's.
  std::mt19937_64 bits(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t b = bits();
    double v;
    std::memcpy(&v, &b, sizeof v);
    if (!std::isfinite(v)) continue;
    const std::string s = io::python_float_repr(v);
    INFO(s);
    REQUIRE(std::strtod(s.c_str(), nullptr) == v);
    REQUIRE(std::signbit(std::strtod(s.c_str(), nullptr)) == std::signbit(v));
    REQUIRE(s.size() <= nlohmann::json(v).dump().size() + 2);  // + ".0" or the exponent's 0
  }
}

// 16M empty objects in 48 MB of text would be a tree of about 2.4 GB: under a
// 2 GiB address-space limit it does not fit in half of what the process may
// use, and parse_json refuses it in one line before building it (building
// until an allocation failed ended the process: nlohmann's destructor
// allocates while it frees a half-built tree). In a forked child, so the
// limit stays there.
TEST_CASE("parse_json refuses a tree larger than half the memory the process may use", "[json]") {
  const size_t n = 16'000'000;
  std::string text = "{\"labels\": [";
  text.reserve(n * 3 + 32);
  for (size_t i = 0; i < n; ++i) text += i ? ",{}" : "{}";
  text += "]}";
  const gf::test::ChildEnd end =  // 2 GiB more
      gf::test::run_with_address_limit(uint64_t(1) << 31, [&] { gf::io::parse_json(text, "dataset.json"); });
  REQUIRE(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  CHECK_THAT(end.err, Catch::StartsWith("dataset.json: JSON of 16000003 values, which would take about ") &&
                          Catch::Contains("more than half of the ") && Catch::Contains("MiB this process may use"));
  // Numbers take far less than objects (16 bytes in their array): 4M float
  // labels (24 MB, a tree of ~70 MB) parse under a limit of 700 MiB.
  std::string floats = "[0.5";
  for (int i = 1; i < 4'000'000; ++i) floats += ",0.5";
  floats += "]";
  const gf::test::ChildEnd numbers = gf::test::run_with_address_limit(uint64_t(700) << 20, [&] {
    if (gf::io::parse_json(floats, "labels").size() != 4'000'000) std::fprintf(stderr, "another size\n");
  });
  REQUIRE(WIFEXITED(numbers.status));
  CHECK(WEXITSTATUS(numbers.status) == 0);
  CHECK(numbers.err.empty());
  CHECK(gf::io::parse_json("[{}, {}]", "small").size() == 2);  // a small text never asks
}
