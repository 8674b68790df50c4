#include "engine/dist/same_run.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "engine/error.h"

namespace gf {

namespace {

// FNV-1a over the bytes: the ranks compare their descriptions by this key.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

uint64_t get_u64(const std::string& in, size_t& at) {
  if (at + sizeof(uint64_t) > in.size()) throw Error("a run description is cut short");
  uint64_t v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}

std::string get_text(const std::string& in, size_t& at) {
  const uint64_t n = get_u64(in, at);
  if (n > in.size() - at) throw Error("a run description is cut short");
  std::string s = in.substr(at, n);
  at += n;
  return s;
}

// Rank 0's bytes `text` (its size known to every rank) into every rank.
void broadcast_text(Communicator& comm, std::string& text) {
  uint64_t n = text.size();
  comm.broadcast(&n, sizeof n);
  text.resize(n);
  if (n > 0) comm.broadcast(text.data(), n);
}

}  // namespace

std::string first_difference(const std::vector<RunItem>& theirs, const std::vector<RunItem>& first) {
  const size_t n = std::max(theirs.size(), first.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= theirs.size()) return first[i].name + ": missing vs '" + first[i].value + "'";
    if (i >= first.size()) return theirs[i].name + " '" + theirs[i].value + "' vs missing";
    const RunItem &a = theirs[i], &b = first[i];
    if (a.name != b.name) return a.name + " '" + a.value + "' vs " + b.name + " '" + b.value + "'";
    if (a.value != b.value) return a.name + " '" + a.value + "' vs '" + b.value + "'";
  }
  return "";
}

std::string encode_run_items(const std::vector<RunItem>& items) {
  std::string out;
  for (const RunItem& it : items) {
    put_u64(out, it.name.size());
    out += it.name;
    put_u64(out, it.value.size());
    out += it.value;
  }
  return out;
}

std::vector<RunItem> decode_run_items(const std::string& bytes) {
  std::vector<RunItem> items;
  size_t at = 0;
  while (at < bytes.size()) {
    RunItem it;
    it.name = get_text(bytes, at);
    it.value = get_text(bytes, at);
    items.push_back(std::move(it));
  }
  return items;
}

void check_same_run(Communicator& comm, const std::vector<RunItem>& mine) {
  const int world = comm.world_size();
  if (world == 1) return;
  const std::string text = encode_run_items(mine);
  // Every rank learns every rank's hash and size (16 bytes each), so all
  // agree on whether the texts must travel and on the size they pad to.
  const uint64_t key[2] = {fnv1a(text), text.size()};
  std::vector<uint64_t> keys(2 * static_cast<size_t>(world));
  comm.gather(key, sizeof key, comm.rank() == 0 ? keys.data() : nullptr);
  comm.broadcast(keys.data(), keys.size() * sizeof(uint64_t));
  int differing = -1;
  uint64_t longest = 0;
  for (int r = 0; r < world; ++r) {
    const size_t i = 2 * static_cast<size_t>(r);
    longest = std::max(longest, keys[i + 1]);
    if (differing < 0 && (keys[i] != keys[0] || keys[i + 1] != keys[1])) differing = r;
  }
  if (differing < 0) return;
  // Every rank's text, padded to the longest, to rank 0, which names the difference.
  std::string padded = text;
  padded.resize(longest);
  std::string all(comm.rank() == 0 ? longest * static_cast<uint64_t>(world) : 0, '\0');
  comm.gather(padded.data(), longest, comm.rank() == 0 ? all.data() : nullptr);
  std::string line;
  if (comm.rank() == 0) {
    const size_t at = longest * static_cast<uint64_t>(differing);
    const std::vector<RunItem> theirs = decode_run_items(all.substr(at, keys[2 * static_cast<size_t>(differing) + 1]));
    std::string diff = first_difference(theirs, mine);
    if (diff.empty()) diff = "the same items, another hash";  // not expected: the hash is of these bytes
    line = "rank " + std::to_string(differing) + "'s run differs from rank 0's: " + diff +
           " (every rank must be launched with the same flags, data and checkpoint)";
  }
  broadcast_text(comm, line);
  throw Error("rank " + std::to_string(comm.rank()) + ": " + line);
}

}  // namespace gf
