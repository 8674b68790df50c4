// CPU helper for strided and broadcast loops (elementwise ops, strided
// copies): the iteration space as rows, so offsets are worked out once per
// row and the innermost loop runs with constant strides.
#pragma once
#include "kernels/common.h"

namespace gf::cpu {

// A strided iteration space as rows: adjacent dims that every operand walks
// contiguously are merged and size-1 dims dropped, so the innermost dim is as
// long as it can be; `outer` indexes the rows, `inner[k]` is operand k's
// stride along a row (1 dense, 0 broadcast). Offsets are then worked out
// once per row instead of once per element.
template <int N>
struct Rows {
  Dims outer;
  int64_t width = 1;
  Strides s[N];
  int64_t inner[N] = {};
};

template <int N>
inline Rows<N> make_rows(const Dims& d, const Strides* const (&s)[N]) {
  Dims m;
  Strides ms[N];
  for (int k = 0; k < d.ndim; ++k) {
    if (d.size[k] == 1) continue;
    bool merge = m.ndim > 0;
    for (int j = 0; j < N && merge; ++j) merge = ms[j].v[m.ndim - 1] == s[j]->v[k] * d.size[k];
    if (merge) {
      m.size[m.ndim - 1] *= d.size[k];
      for (int j = 0; j < N; ++j) ms[j].v[m.ndim - 1] = s[j]->v[k];
    } else {
      m.size[m.ndim] = d.size[k];
      for (int j = 0; j < N; ++j) ms[j].v[m.ndim] = s[j]->v[k];
      ++m.ndim;
    }
  }
  Rows<N> r;
  if (m.ndim == 0) return r;  // one element
  r.width = m.size[m.ndim - 1];
  r.outer.ndim = m.ndim - 1;
  for (int k = 0; k < r.outer.ndim; ++k) r.outer.size[k] = m.size[k];
  for (int j = 0; j < N; ++j) {
    r.s[j] = ms[j];
    r.inner[j] = ms[j].v[m.ndim - 1];
  }
  return r;
}


}  // namespace gf::cpu
