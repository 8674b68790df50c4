#include "engine/io/append_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.h"

namespace gf::io {

int open_for_append(const std::string& path, bool create, AppendTo where) {
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0);
  // O_NONBLOCK: a FIFO named like the log fails the type check below instead
  // of blocking the open until a reader comes.
  if (where == AppendTo::plain_file_only) flags |= O_NOFOLLOW | O_NONBLOCK;
  const int fd = ::open(path.c_str(), flags, 0666);
  if (fd < 0 || where == AppendTo::follow) return fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

std::string append_error(int err, AppendTo where) {
  if (where == AppendTo::plain_file_only && err == ELOOP)
    return "a symbolic link; only a plain file of the folder is appended to";
  if (where == AppendTo::plain_file_only && err == EINVAL) return "not a plain file";
  return std::strerror(err);
}

namespace {

// Whether the file open as fd (for writing alone) ends inside a line: its
// last byte, read through a second descriptor of the same file (procfs), is
// not '\n'. False when it is empty or cannot be read (a write-only file).
bool ends_inside_line(int fd, off_t size) {
  if (size <= 0) return false;
  const int rfd = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (rfd < 0) return false;
  char last = '\n';
  const bool read = ::pread(rfd, &last, 1, size - 1) == 1;
  ::close(rfd);
  return read && last != '\n';
}

}  // namespace

void append_record(const std::string& path, const std::string& text, AppendTo where, bool sync) {
  const int fd = open_for_append(path, /*create=*/true, where);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    const off_t before = ::lseek(fd, 0, SEEK_END);
    // A file that ends in part of a line (a run killed while the official
    // code wrote it, a cut copy) gets a newline first: glued onto that part,
    // the new record would be lost with it.
    const std::string record = ends_inside_line(fd, before) ? "\n" + text : text;
    // Where this record's bytes lie once some are written: O_APPEND puts
    // them at the end as it is then, which another process appending to the
    // same file (calc_metrics beside the training run) may have moved.
    off_t ours = -1, ours_end = -1;
    for (size_t done = 0; done < record.size() && err == 0;) {
      const ssize_t n = ::write(fd, record.data() + done, record.size() - done);
      if (n < 0 && errno != EINTR) err = errno;
      if (n > 0) {
        done += static_cast<size_t>(n);
        ours_end = ::lseek(fd, 0, SEEK_CUR);
        if (ours < 0 && ours_end >= 0) ours = ours_end - n;
      }
    }
    if (err == 0 && sync && ::fsync(fd) != 0 && errno != EINVAL) err = errno;
    // The cut is best effort (when it fails too, the line's start stays), and
    // takes this record's bytes alone, while they end the file: cutting back
    // to the size seen before could take another process's record appended
    // in between.
    struct stat st {};
    if (err != 0 && ours >= 0 && ::fstat(fd, &st) == 0 && st.st_size == ours_end) (void)!::ftruncate(fd, ours);
    if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
  }
  if (err != 0) throw Error("cannot append to " + path + ": " + append_error(err, where));
}

}  // namespace gf::io
