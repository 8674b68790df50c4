#include "engine/profile.h"

#include <time.h>

#include <chrono>
#include <cstring>
#include <map>
#include <utility>

#include "engine/flop_count.h"

namespace gf::profile {

bool g_on = false;

namespace {

CounterSource g_source = nullptr;
bool g_cpu_clock = false;

double now() {
  if (g_cpu_clock) {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Counters minus(const Counters& a, const Counters& b) {
  return {a.parallel_regions - b.parallel_regions, a.serial_regions - b.serial_regions, a.mallocs - b.mallocs,
          a.malloc_bytes - b.malloc_bytes, a.flops - b.flops};
}
void add(Counters& a, const Counters& d) {
  a.parallel_regions += d.parallel_regions;
  a.serial_regions += d.serial_regions;
  a.mallocs += d.mallocs;
  a.malloc_bytes += d.malloc_bytes;
  a.flops += d.flops;
}

// Rows keyed by (phase, op) names. Names are string literals, so a cache by
// pointer finds a row without comparing strings; distinct pointers to equal
// names still land in one row through the by-name map.
struct Table {
  std::vector<Entry> rows;
  std::map<std::pair<const void*, const void*>, size_t> by_ptr;
  std::map<std::pair<std::string, std::string>, size_t> by_name;
  Phase* open = nullptr;         // innermost open phase
  const char* phase = nullptr;  // its name
  int op_depth = 0;

  Entry& row(const char* ph, const char* op) {
    const auto key = std::make_pair(static_cast<const void*>(ph), static_cast<const void*>(op));
    auto it = by_ptr.find(key);
    if (it != by_ptr.end()) return rows[it->second];
    std::pair<std::string, std::string> name{ph ? ph : "(none)", op ? op : ""};
    auto jt = by_name.find(name);
    size_t i;
    if (jt != by_name.end()) {
      i = jt->second;
    } else {
      i = rows.size();
      Entry e;
      e.phase = name.first;
      e.op = name.second;
      rows.push_back(std::move(e));
      by_name.emplace(std::move(name), i);
    }
    by_ptr.emplace(key, i);
    return rows[i];
  }
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

void set_counter_source(CounterSource source) { g_source = source; }
Counters read_counters() {
  Counters c = g_source ? g_source() : Counters{};
  c.flops = flop_count::total();
  return c;
}

void start(bool cpu_clock) {
  g_cpu_clock = cpu_clock;
  Table& t = table();
  t.rows.clear();
  t.by_ptr.clear();
  t.by_name.clear();
  t.open = nullptr;
  t.phase = nullptr;
  t.op_depth = 0;
  g_on = true;
}

void stop() { g_on = false; }

bool cpu_clock() { return g_cpu_clock; }

Report report() {
  Report r;
  for (const Entry& e : table().rows) (e.op.empty() ? r.phases : r.ops).push_back(e);
  return r;
}

void Phase::begin(const char* name) {
  Table& t = table();
  active_ = true;
  name_ = name;
  outer_ = t.open;
  t.open = this;
  t.phase = name;
  c0_ = read_counters();
  t0_ = now();
}

void Phase::end() {
  const double t1 = now();
  const Counters c = minus(read_counters(), c0_);
  Table& t = table();
  Entry& e = t.row(name_, nullptr);
  e.calls++;
  e.seconds += t1 - t0_ - nested_seconds_;
  add(e.counters, minus(c, nested_));
  if (outer_) {
    outer_->nested_seconds_ += t1 - t0_;
    add(outer_->nested_, c);
  }
  t.open = outer_;
  t.phase = outer_ ? outer_->name_ : nullptr;
}

void OpTimer::begin(const char* op) {
  Table& t = table();
  entered_ = true;
  outermost_ = t.op_depth++ == 0;
  if (!outermost_) return;
  op_ = op;
  c0_ = read_counters();
  t0_ = now();
}

void OpTimer::end() {
  const double t1 = now();
  Table& t = table();
  t.op_depth--;
  if (!outermost_) return;
  Entry& e = t.row(t.phase, op_);
  e.calls++;
  e.seconds += t1 - t0_;
  add(e.counters, minus(read_counters(), c0_));
}

}  // namespace gf::profile
