// Fixture for tools/file_local_names.py (cpu.file_local_names_finds_repeats):
// names this file keeps to itself, some of which b.cpp defines too.
#include "b.h"

namespace gf {
namespace {

// Repeated in b.cpp: each of these must be listed.
[[noreturn]] void bad(const char* what) { throw what; }
constexpr int kBlock = 512;
struct Row { int a; };
enum Colour { red, green };
template <typename T>
T twice(T x) { return x + x; }
using Index = long;
std::atomic<int> hits(0);
struct {
  int a;
} g_state;
decltype(auto) pick(int& x) { return (x); }
typedef struct {
  int a;
} Pair;

// Only here, or the same alias in both: not listed.
int only_in_a(int x) { return x; }
using Same = unsigned;

}  // namespace

static int counter(int x) {
  static int calls = 0;  // a function's own static: not a namespace name
  return x + ++calls;
}

namespace io {
const char* const kMagic = "A";
}  // namespace io

// Neither file-local nor defined twice: an out-of-line member, a function
// with external linkage, a declaration.
int Widget::size() const { return 1; }
struct Widget::Impl {
  char c = L'x';
};
template <>
struct Traits<Widget> {};
int exported(int x) { return counter(x); }
const char* name_of(int) { return "int"; }  // a shared function returning const: overloads b's
int declared_only(int);

}  // namespace gf
