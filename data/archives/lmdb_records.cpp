#include "data/archives/lmdb_records.h"

#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "engine/error.h"
#include "engine/io/temp_file_guard.h"

namespace gf {
namespace {

// The pipe's messages, child to parent: 'E' u64 entries, then 'R' u64 klen
// key u64 vlen value per record, then 'D'; or 'X' u64 len text (an error).
void put(std::FILE* f, const void* p, size_t n) {
  if (n && std::fwrite(p, 1, n, f) != n) ::_exit(3);  // the parent went away
}
void put_u64(std::FILE* f, uint64_t v) { put(f, &v, sizeof v); }
void put_tag(std::FILE* f, char t) { put(f, &t, 1); }

void check(int rc, const std::string& folder, const std::string& doing) {
  if (rc != MDB_SUCCESS) throw Error(folder + ": " + doing + ": " + mdb_strerror(rc));
}

// The child's whole work: open, count, send every record. Throws gf::Error
// for what liblmdb reports; dies by a signal where it trusts a damaged page.
void send_records(const std::string& folder, std::FILE* out) {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_cursor* cursor = nullptr;
  check(mdb_env_create(&env), folder, "cannot make an LMDB environment");
  // Named databases (if any) are entries of the main one, which is read.
  check(mdb_env_open(env, folder.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0), folder,
        "not an LMDB folder (data.mdb)");
  // A page past the end of a cut file is a SIGBUS when read: its last page,
  // from the meta page, must be in the file (said as the likely cause).
  MDB_envinfo env_info;
  MDB_stat env_stat;
  check(mdb_env_info(env, &env_info), folder, "cannot read its header");
  check(mdb_env_stat(env, &env_stat), folder, "cannot read its header");
  std::error_code ec;
  const uint64_t have = std::filesystem::file_size(std::filesystem::path(folder) / "data.mdb", ec);
  const uint64_t need = (uint64_t(env_info.me_last_pgno) + 1) * env_stat.ms_psize;
  if (!ec && have < need)
    throw Error(folder + ": data.mdb is cut short (" + std::to_string(have) + " bytes, its pages need " +
                std::to_string(need) + "): a truncated download or copy?");
  check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), folder, "cannot read it");
  MDB_dbi dbi;
  check(mdb_dbi_open(txn, nullptr, 0, &dbi), folder, "cannot open its database");
  MDB_stat stat;
  check(mdb_stat(txn, dbi, &stat), folder, "cannot count its entries");
  check(mdb_cursor_open(txn, dbi, &cursor), folder, "cannot read its entries");
  const uint64_t file_bytes = have;
  put_tag(out, 'E');
  put_u64(out, stat.ms_entries);
  std::fflush(out);
  // Records come in the database's order, each once: keys ascending, and
  // in a DUPSORT database a key's values ascending. Branch pages that point
  // to one child again and again walked a 24 kB file through half a billion
  // records, the count its header claims being the file's word too.
  unsigned int db_flags = 0;
  check(mdb_dbi_flags(txn, dbi, &db_flags), folder, "cannot read its header");
  const bool dupsort = (db_flags & MDB_DUPSORT) != 0;
  std::string previous, previous_value;
  uint64_t index = 0;
  MDB_val k, v;
  for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT, ++index) {
    const int rc = mdb_cursor_get(cursor, &k, &v, op);
    if (rc == MDB_NOTFOUND) break;
    check(rc, folder, "cannot read an entry (corrupt database?)");
    if (index > 0) {
      MDB_val before{previous.size(), previous.data()}, before_value{previous_value.size(), previous_value.data()};
      int order = mdb_cmp(txn, dbi, &before, &k);
      if (order == 0 && dupsort) order = mdb_dcmp(txn, dbi, &before_value, &v);
      if (order >= 0)
        throw Error(folder + ": data.mdb is damaged: record " + std::to_string(index + 1) + " does not follow record " +
                    std::to_string(index) + " in the database's order (a page reached twice?), or was written with a "
                    "key order of its own, which LMDB does not record");
    }
    if (dupsort) previous_value.assign(static_cast<const char*>(v.mv_data), v.mv_size);
    // A damaged node's size (4 GiB) made the parent allocate it, and the
    // write then failed on the unmapped bytes.
    if (!ec && (k.mv_size > file_bytes || v.mv_size > file_bytes))
      throw Error(folder + ": data.mdb is damaged: a record claims " + std::to_string(std::max(k.mv_size, v.mv_size)) +
                  " bytes, more than the file's " + std::to_string(file_bytes));
    previous.assign(static_cast<const char*>(k.mv_data), k.mv_size);
    put_tag(out, 'R');
    put_u64(out, k.mv_size);
    put(out, k.mv_data, k.mv_size);
    put_u64(out, v.mv_size);
    put(out, v.mv_data, v.mv_size);
    std::fflush(out);  // sent whole before the next page is touched: a crash there loses none
  }
  put_tag(out, 'D');
  // The process ends next: liblmdb's handles go with it.
}

[[noreturn]] void run_child(const std::string& folder, int out_fd, int err_fd) {
  // The parent's handlers (the temporaries' remover, the stop flag) are not
  // the child's business: a caught signal ends it plainly; an ignored one
  // (nohup's SIGHUP, a background job's SIGINT) stays ignored.
  io::TempFileGuard::reset_signals_in_child();
  ::dup2(err_fd, STDERR_FILENO);
  std::FILE* out = ::fdopen(out_fd, "wb");
  if (!out) ::_exit(3);
  try {
    send_records(folder, out);
  } catch (const std::exception& e) {
    const std::string text = e.what();
    put_tag(out, 'X');
    put_u64(out, text.size());
    put(out, text.data(), text.size());
  }
  std::fflush(out);
  ::_exit(0);  // no exit handlers, no destructors of the parent's objects
}

bool get(std::FILE* f, void* p, size_t n) { return n == 0 || std::fread(p, 1, n, f) == n; }
bool get_u64(std::FILE* f, uint64_t& v) { return get(f, &v, sizeof v); }

std::string signal_words(int sig) {
  switch (sig) {
    case SIGBUS: return "SIGBUS, a read past its pages";
    case SIGSEGV: return "SIGSEGV, a read outside its pages";
    case SIGFPE: return "SIGFPE, a page size of 0?";
    case SIGABRT: return "SIGABRT";
    default: return "signal " + std::to_string(sig);
  }
}

}  // namespace

LmdbRecords::LmdbRecords(const std::string& folder) : folder_(folder) {
  std::error_code ec;
  file_bytes_ = std::filesystem::file_size(std::filesystem::path(folder) / "data.mdb", ec);
  if (ec) file_bytes_ = UINT64_MAX;  // no data.mdb: the child says so
  int data[2], err[2];
  if (::pipe2(data, O_CLOEXEC) != 0) throw Error(folder + ": cannot make a pipe: " + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(data[0]);
    ::close(data[1]);
    throw Error(folder + ": cannot make a pipe: " + std::strerror(errno));
  }
  std::fflush(nullptr);  // nothing buffered is written twice
  // The guarded signals held off across the fork: one landing in the child
  // before its reset would run the parent's handler there.
  sigset_t guarded, before;
  sigemptyset(&guarded);
  for (const int sig : io::kGuardedSignals) sigaddset(&guarded, sig);
  ::sigprocmask(SIG_BLOCK, &guarded, &before);
  child_ = ::fork();
  const int fork_errno = errno;
  if (child_ != 0) ::sigprocmask(SIG_SETMASK, &before, nullptr);
  if (child_ == 0) {
    ::close(data[0]);
    ::close(err[0]);
    run_child(folder, data[1], err[1]);
  }
  ::close(data[1]);
  ::close(err[1]);
  err_fd_ = err[0];
  if (child_ < 0) {
    ::close(data[0]);
    stop_child();
    throw Error(folder + ": cannot start the LMDB reader: " + std::strerror(fork_errno));
  }
  in_ = ::fdopen(data[0], "rb");
  if (!in_) {
    ::close(data[0]);
    stop_child();
    throw Error(folder + ": cannot read from the LMDB reader");
  }
  in_buffer_.resize(1 << 20);  // records are images: few large reads
  std::setvbuf(in_, in_buffer_.data(), _IOFBF, in_buffer_.size());
  char tag = 0;
  uint64_t n = 0;
  if (get(in_, &tag, 1) && tag != 'E' && tag != 'X') fail_from_child("its reader sent what is no count");
  if (tag != 'E' || !get_u64(in_, n)) fail_from_child();
  entries_ = static_cast<size_t>(n);
}

LmdbRecords::~LmdbRecords() { stop_child(); }

void LmdbRecords::stop_child() {
  if (child_ > 0) {
    ::kill(child_, SIGKILL);  // it may still be sending records nobody reads
    while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
    }
    child_ = -1;
  }
  if (in_) std::fclose(in_);
  in_ = nullptr;
  if (err_fd_ >= 0) ::close(err_fd_);
  err_fd_ = -1;
}

// After a short read or an 'X' tag: the child's own error, else how it died
// (with liblmdb's last words, its assertion, where it left some).
void LmdbRecords::fail_from_child(const std::string& out_of_step) {
  std::string message;
  uint64_t len = 0;
  if (out_of_step.empty() && in_ && std::feof(in_) == 0 && get_u64(in_, len) && len < (1u << 16)) {
    message.resize(len);
    if (!get(in_, &message[0], len)) message.clear();
  }
  // A child that sent its error or died has closed the pipe; one that is out
  // of step may still be writing into a full pipe: it is stopped first.
  if (!out_of_step.empty() || (message.empty() && in_ && std::feof(in_) == 0)) {
    stop_child();
    throw Error(folder_ + ": data.mdb is damaged: " +
                (out_of_step.empty() ? std::string("its reader sent what is no record") : out_of_step));
  }
  int status = 0;
  while (child_ > 0 && ::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
  }
  child_ = -1;
  std::string said;
  char chunk[512];
  while (err_fd_ >= 0 && said.size() < 4096) {
    const ssize_t got = ::read(err_fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    said.append(chunk, static_cast<size_t>(got));
  }
  stop_child();
  if (!message.empty()) throw Error(message);
  // Ctrl-C reaches the whole process group, and SIGKILL comes from outside
  // (the OOM killer): the reader stopped, no damage.
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGKILL)
    throw Error(folder_ + ": the LMDB reader was stopped by " +
                (sig == SIGINT    ? "SIGINT"
                 : sig == SIGTERM ? "SIGTERM"
                 : sig == SIGHUP  ? "SIGHUP"
                                  : "SIGKILL (from outside: out of memory?)"));
  said = said.substr(0, said.find('\n'));
  std::string how = WIFSIGNALED(status) ? signal_words(WTERMSIG(status))
                                        : "exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (!said.empty()) how += ": " + said;
  throw Error(folder_ + ": data.mdb is damaged: liblmdb died reading it (" + how + ") after " +
              std::to_string(records_read_) + (records_read_ == 1 ? " record" : " records"));
}

bool LmdbRecords::next(std::string& key, std::vector<uint8_t>& value) {
  if (done_) return false;
  GF_CHECK(in_ != nullptr, "LmdbRecords::next", "the reader has stopped");
  char tag = 0;
  if (!get(in_, &tag, 1) || tag == 'X') fail_from_child();
  if (tag == 'D') {
    done_ = true;
    stop_child();
    return false;
  }
  uint64_t klen = 0, vlen = 0;
  if (tag != 'R') fail_from_child("its reader sent what is no record");
  bool ok = get_u64(in_, klen);
  if (ok && klen > file_bytes_) fail_from_child("a key of " + std::to_string(klen) + " bytes, more than the file");
  if (ok) {
    key.resize(klen);
    ok = get(in_, &key[0], klen) && get_u64(in_, vlen);
  }
  if (ok && vlen > file_bytes_) fail_from_child("a value of " + std::to_string(vlen) + " bytes, more than the file");
  if (ok) {
    value.resize(vlen);
    ok = get(in_, value.data(), vlen);
  }
  if (!ok) fail_from_child();
  ++records_read_;
  return true;
}

}  // namespace gf
