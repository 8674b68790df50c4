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

// Where an archive ends, from its first n bytes as they are decoded: the
// byte after its first all-zero header block (the end-of-archive block,
// past which Python's tarfile reads nothing), or 0 while that block is not
// yet within the n bytes. *pos carries the walk from call to call (start it
// at 0): each call goes on from the last header reached. A header that
// fails its checksum ends the walk (0 from then on: list_tar names it once
// the data is whole); a malformed size or checksum field throws as list_tar does.
size_t tar_end_so_far(const uint8_t* data, size_t n, size_t* pos, const std::string& what);

}  // namespace gf
