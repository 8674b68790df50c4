#include "engine/io/atomic_file.h"

#include <cstdio>
#include <fstream>

#include "engine/error.h"

namespace gf::io {

void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const std::string& who) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f.good()) throw Error(who + ": cannot write " + tmp);
    try {
      write(f);
    } catch (...) {
      f.close();
      std::remove(tmp.c_str());
      throw;
    }
    f.close();  // a full disk may only show here
    if (f.fail()) {
      std::remove(tmp.c_str());
      throw Error(who + ": write to " + tmp + " failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(who + ": cannot rename " + tmp + " to " + path);
  }
}

}  // namespace gf::io
