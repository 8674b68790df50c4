// The output flags' checks against the inputs (output_paths.h), the links a folder input
// reaches included.
#include "train/output_paths.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/input_file.h"

namespace gf::cli {

void check_not_input(const Args& args, const std::string& what, const std::string& path,
                     const std::vector<std::string>& inputs) {
  for (const std::string& in : inputs) {
    if (!args.has(in)) continue;
    std::error_code ec;  // an output that does not exist yet is no input
    if (std::filesystem::equivalent(args.str(in), path, ec))
      throw Error(what + " " + path + " is the --" + in + " file; choose another name");
  }
}

void check_not_an_output(const Args& args, const std::string& flag, const std::vector<std::string>& outputs) {
  if (!args.has(flag)) return;
  std::error_code ec;
  const std::filesystem::path file = std::filesystem::weakly_canonical(args.str(flag), ec);
  std::filesystem::path dir = std::filesystem::weakly_canonical(args.str("outdir"), ec);
  if (!dir.has_filename()) dir = dir.parent_path();  // "out/" when out does not exist yet
  if (ec || file.parent_path() != dir) return;
  if (std::find(outputs.begin(), outputs.end(), file.filename().string()) != outputs.end())
    throw Error("--" + flag + " " + args.str(flag) + ": is one of the files this run writes to --outdir; give it another name");
}

void check_output_file(const Args& args, const std::string& flag, const std::vector<std::string>& inputs) {
  if (!args.has(flag)) return;
  const std::string path = args.str(flag);
  if (path.empty()) throw Error("--" + flag + " is empty; give a file name");
  std::error_code ec;
  if (path.back() == '/' || std::filesystem::is_directory(path, ec))
    throw Error("--" + flag + " " + path + ": a folder; give a file name");
  check_not_input(args, "--" + flag, path, inputs);
  io::check_parent_folder(path, "--" + flag);  // made at write time: a refused run leaves no new folder
  // The file is this process's standard output (--raw /dev/stdout > all.npy,
  // a pipe, or the file stdout was sent to under another name): the
  // program's own lines go to standard error, so the file holds the data
  // alone. (Written through descriptor 1, the closing line landed over the
  // start of the data: an .npy whose header was "generate: wrote ...".) A
  // regular file, pipe or socket only: a device (/dev/null both ways) is no data.
  struct stat out {}, file {};
  if (::fstat(STDOUT_FILENO, &out) == 0 && ::stat(path.c_str(), &file) == 0 && out.st_dev == file.st_dev &&
      out.st_ino == file.st_ino && (S_ISREG(out.st_mode) || S_ISFIFO(out.st_mode) || S_ISSOCK(out.st_mode))) {
    std::cout.flush();
    std::cout.rdbuf(std::cerr.rdbuf());
  }
}

namespace {

// The folders elsewhere that the readers reach from root through links
// (data/dataset.cpp: a link is followed unless its target lies inside root
// or above it, each folder once), each with the link's path as reached from
// root. A walk of the folder's entries: tens of milliseconds for 70,000 images.
std::vector<std::pair<std::filesystem::path, std::filesystem::path>> linked_folders(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::vector<std::pair<fs::path, fs::path>> found;  // (target, link as reached from root)
  std::vector<std::pair<fs::path, fs::path>> pending{{root, root}};  // folders to walk: where, and as reached
  constexpr size_t kMaxLinkedFolders = 4096;  // a bound, whatever the links
  for (size_t i = 0; i < pending.size() && found.size() < kMaxLinkedFolders; ++i) {
    const auto [real, shown] = pending[i];
    std::error_code ec;
    for (fs::recursive_directory_iterator it(real, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      std::error_code lec;
      if (!it->is_symlink(lec) || !it->is_directory(lec)) continue;
      const fs::path target = fs::canonical(it->path(), lec);
      if (lec || io::is_within(target, root) || io::is_within(root, target)) continue;  // not followed by the readers
      if (std::any_of(found.begin(), found.end(), [&](const auto& f) { return f.first == target; })) continue;
      const fs::path reached = shown / it->path().lexically_relative(real);
      found.emplace_back(target, reached);
      pending.emplace_back(target, reached);
    }
  }
  return found;
}

// The first link under root whose folder holds out; none when no link does.
std::optional<std::filesystem::path> link_reaching(const std::filesystem::path& root, const std::filesystem::path& out) {
  for (const auto& [target, link] : linked_folders(root))
    if (io::is_within(out, target)) return link;
  return std::nullopt;
}

}  // namespace

void check_not_in_input_folder(const Args& args, const std::string& what, const std::string& dir,
                               const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  for (const std::string& in : inputs) {
    if (!args.has(in)) continue;
    std::error_code ec;
    if (!fs::is_directory(args.str(in), ec)) continue;
    const fs::path folder = fs::canonical(args.str(in), ec);
    if (ec) continue;
    // The output folder need not exist yet: its existing part is resolved (links included), the rest is taken as written.
    const fs::path out = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    if (ec) continue;
    if (io::is_within(out, folder))
      throw Error(what + " " + dir + (out == folder ? " is the --" + in + " folder" : " is inside the --" + in + " folder " + args.str(in)) +
                  ", which is read with all its subfolders: outputs there would replace or join the inputs; choose a folder outside it");
    // The readers follow links to folders elsewhere (data/dataset.cpp):
    // an output folder one of them reaches is read as input too (the next
    // run trained on the last one's grids).
    if (const std::optional<fs::path> link = link_reaching(folder, out))
      throw Error(what + " " + dir + " is read as part of the --" + in + " folder " + args.str(in) + " through its link " +
                  link->string() + ": outputs there would join the inputs; choose a folder outside it");
  }
}

void check_output_folders(const Args& args, const std::vector<std::string>& outputs,
                          const std::vector<std::string>& inputs) {
  for (const std::string& flag : outputs)
    if (const std::optional<std::string> dir = args.opt(flag)) check_not_in_input_folder(args, "--" + flag, *dir, inputs);
}

}  // namespace gf::cli
