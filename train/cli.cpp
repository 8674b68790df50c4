#include "train/cli.h"

#include <iostream>
#include <sstream>

#include "engine/error.h"

namespace gf::cli {

Args::Args(int argc, char** argv, std::string program, std::string summary, std::vector<Flag> flags)
    : program_(std::move(program)), summary_(std::move(summary)), flags_(std::move(flags)) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "' (see --help)");
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Flag& f = find(name);
    if (f.value_name.empty()) {
      if (inline_value && value != "true" && value != "false" && value != "1" && value != "0")
        throw Error("--" + name + " is a switch; it takes no value");
      given_[name] = inline_value ? value : "true";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) throw Error("--" + name + " needs a value (" + f.value_name + ")");
      value = argv[++i];
    }
    given_[name] = value;
  }
}

const Flag& Args::find(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return f;
  throw Error("unknown option --" + name + " (see --help)");
}

std::string Args::usage() const {
  std::ostringstream os;
  os << "Usage: " << program_ << " [options]\n\n" << summary_ << "\n\nOptions:\n";
  for (const Flag& f : flags_) {
    std::string left = "  --" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    os << left << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << f.help;
    if (!f.default_value.empty()) os << " [default: " << f.default_value << "]";
    os << "\n";
  }
  os << "  --help                      show this message\n";
  return os.str();
}

bool Args::has(const std::string& name) const {
  find(name);
  return given_.count(name) > 0;
}

bool Args::flag(const std::string& name) const {
  const Flag& f = find(name);
  auto it = given_.find(name);
  const std::string v = it != given_.end() ? it->second : f.default_value;
  return v == "true" || v == "1";
}

std::optional<std::string> Args::opt(const std::string& name) const {
  const Flag& f = find(name);
  auto it = given_.find(name);
  if (it != given_.end()) return it->second;
  if (!f.default_value.empty()) return f.default_value;
  return std::nullopt;
}

std::string Args::str(const std::string& name) const { return opt(name).value_or(""); }

long long Args::integer(const std::string& name) const {
  const std::string v = str(name);
  try {
    size_t used = 0;
    long long r = std::stoll(v, &used);
    if (used == v.size()) return r;
  } catch (...) {
  }
  throw Error("--" + name + " expects an integer, got '" + v + "'");
}

double Args::number(const std::string& name) const {
  const std::string v = str(name);
  try {
    size_t used = 0;
    double r = std::stod(v, &used);
    if (used == v.size()) return r;
  } catch (...) {
  }
  throw Error("--" + name + " expects a number, got '" + v + "'");
}

std::vector<long long> parse_range_list(const std::string& s, const std::string& flag) {
  std::vector<long long> out;
  std::stringstream ss(s);
  std::string part;
  auto to_int = [&](const std::string& t) {
    try {
      size_t used = 0;
      long long v = std::stoll(t, &used);
      if (used == t.size() && v >= 0) return v;
    } catch (...) {
    }
    throw Error("--" + flag + ": '" + s + "' is not a list like 0-3,7");
  };
  while (std::getline(ss, part, ',')) {
    const size_t dash = part.find('-');
    if (dash == std::string::npos) {
      out.push_back(to_int(part));
    } else {
      long long a = to_int(part.substr(0, dash)), b = to_int(part.substr(dash + 1));
      if (b < a) throw Error("--" + flag + ": range " + part + " runs backwards");
      for (long long v = a; v <= b; ++v) out.push_back(v);
    }
  }
  if (out.empty()) throw Error("--" + flag + ": empty list");
  return out;
}

int run_main(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace gf::cli
