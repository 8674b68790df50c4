// The regular files of a tar archive held in memory (POSIX ustar, GNU long
// names, pax path records), as Python's tarfile lists them: by name, the
// last member of a name winning (TarFile.getmember). Each header's checksum
// is verified and every size checked against the data, so a cut or corrupt
// archive throws gf::Error naming it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gf {

struct TarMember {
  size_t offset = 0;  // of its first byte in the archive
  size_t size = 0;
};

// name -> member, for the regular files of `tar` (its bytes, e.g. a
// decompressed .tar.gz). `what` names the archive in messages.
std::map<std::string, TarMember> list_tar(const std::vector<uint8_t>& tar, const std::string& what);

// Throws as list_tar would where the first n bytes of an archive cannot
// begin one (under a block, or a first header failing its checksum): a
// .tar.gz's head is checked before the rest is inflated.
void check_tar_start(const uint8_t* data, size_t n, const std::string& what);

}  // namespace gf
