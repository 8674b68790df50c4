// Fixture for tools/file_local_names.py: see a.cpp.
#include "b.h"

namespace gf {

static void bad(const char* what, int code);

namespace {

const int kBlock = 64;  // /* not a comment's end */
typedef struct Row Rows;
struct Row {
  int b;
};
enum class Shade { green };  // scoped: its green is not gf's
int green() { return 2; }
template <int N>
int twice(int x) { return N * x; }
using Index = int;
std::atomic<long> hits(1);
struct {
  long b;
} g_state;
decltype(auto) pick(long& x) { return (x); }
typedef struct {
  long b;
} Pair;
using Same = unsigned;
const char* kText = R"(namespace { int not_a_name; })";

}  // namespace

static void bad(const char* what, int code) { throw code; }

namespace io {
// Another namespace's kMagic would be fine; this one is io's again.
constexpr char kMagic[] = "B";
int only_in_b = 0;
}  // namespace io

namespace other {
constexpr int kBlock = 8;  // gf::other::kBlock: another name
}  // namespace other

int Widget::size() const;
struct Widget::Other {
  long n = 0x7fff'ffff;
};
template <>
struct Traits<Rows> {};
int exported(double x) { return int(x); }
const char* name_of(double) { return "double"; }

}  // namespace gf
