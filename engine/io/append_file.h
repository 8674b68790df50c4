// Appending records to a log a reader follows (a run's stats.jsonl and
// log.txt, calc_metrics' metric-<name>.jsonl): each record lands whole or not
// at all. A write that fails part-way (a full disk, a file-size limit) is cut
// back off, so the file never ends in half a line that the next record would
// be glued to. These are the only files not written by io::write_atomic: a
// log is added to while it is read (the report page, `tail -f`).
#pragma once
#include <string>

namespace gf::io {

// Where the log may lie. follow: any path (a run's own logs, in the folder it
// made). plain_file_only: never through a symbolic link (ELOOP) and only a
// regular file (EINVAL otherwise): a file in a folder handed to the program,
// where a link copied with it could lead to a snapshot the line would damage.
enum class AppendTo { follow, plain_file_only };

// Opens path to append to (O_APPEND, close-on-exec; created with mode 0666
// less the umask when create is true). Returns the descriptor, or -1 with
// errno set.
int open_for_append(const std::string& path, bool create, AppendTo where);

// Appends text (one or more whole lines) to path (created when absent) as one
// record, after a newline when the file ends inside a line (a record cut
// short before: that part alone is lost, not the new record glued to it). On
// failure the file is cut back to its length before the call and
// gf::Error("cannot append to <path>: <append_error>") is thrown. sync: flushed to the disk before it
// returns (a result computed for hours); the logs of a run do without.
void append_record(const std::string& path, const std::string& text, AppendTo where, bool sync);

// The reason open_for_append's or append_record's errno stands for, as a line
// says it: strerror, with plain_file_only's ELOOP and EINVAL in words.
std::string append_error(int err, AppendTo where);

}  // namespace gf::io
