// The start-up check that every rank of a process group runs the same
// configuration. The collectives read a fixed byte count per rank and trust
// it, so ranks built from different flags (another --cfg, --batch, dataset
// or checkpoint) would average unrelated buffers, or wait in different
// collectives, and fail later with a misleading line. Each rank describes
// its run as named items; rank 0 compares them and every rank stops with
// one line naming the first item that differs.
#pragma once
#include <string>
#include <vector>

#include "engine/dist/communicator.h"

namespace gf {

// One item of a run's description: its name ("--cfg", "G parameter b4.conv1.weight")
// and its value as text.
struct RunItem {
  std::string name;
  std::string value;
};

// "cfg 'small' vs 'tiny'": the first item of `theirs` that differs from
// `first`'s item at that position (or has another name there, or is missing
// in either), `theirs`'s value first; "" when both are the same.
std::string first_difference(const std::vector<RunItem>& theirs, const std::vector<RunItem>& first);

// The items as bytes and back (length-prefixed; any text survives).
std::string encode_run_items(const std::vector<RunItem>& items);
std::vector<RunItem> decode_run_items(const std::string& bytes);

// A collective: every rank calls it with its own description, at the same
// point, before any collective whose sizes depend on the run. A hash of each
// rank's items goes to rank 0 (one round trip when they agree); when one
// differs, rank 0 takes the first such rank's items, and every rank throws
// "rank R: rank K's run differs from rank 0's: <first_difference> (...)".
// Ranks that agree pay one gather and one broadcast of 16 bytes each.
void check_same_run(Communicator& comm, const std::vector<RunItem>& mine);

}  // namespace gf
