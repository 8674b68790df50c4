// Every file ganforge writes goes through here: the bytes go to "<path>.tmp",
// which is flushed to the disk and then renamed over path, so a crash, a power
// loss or a full disk never leaves a half-written checkpoint, image or array.
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace gf::io {

// Calls write with a binary stream on "<path>.tmp", then renames it to path.
// On failure removes the temporary file and throws gf::Error("<who>: ...").
void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const std::string& who);

}  // namespace gf::io
