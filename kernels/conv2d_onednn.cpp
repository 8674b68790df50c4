#include "kernels/conv2d_onednn.h"

#include "kernels/common.h"

#ifdef GF_WITH_ONEDNN

#include <omp.h>

#include <array>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace gf::cpu::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

// One of a pass's three tensors: `user` over the caller's pointer in our
// layout, `prim` in the primitive's (the same object when they agree), and
// the reorder between them (user -> prim for an input, prim -> user for the
// output). A reordered tensor's `prim` lives at `offset` in the workspace.
struct Operand {
  memory user, prim;
  dnnl::primitive reorder;
  std::vector<dnnl_exec_arg_t> reorder_args;
  bool reordered = false;
  bool serial = false;  // small enough to reorder on the calling thread
  size_t offset = 0;
};

// A reorder is a copy between layouts; below the elementwise kernels'
// threshold (kernels/common.h) it runs on the calling thread instead of
// opening a parallel region. The result is the same bits either way.
constexpr size_t kSerialReorderBytes = size_t(kMinParallelWork) * sizeof(float);

// A pass of one shape, ready to run: built once, then only pointers change.
struct Entry {
  bool ok = false;
  dnnl::primitive prim;
  Operand a, b, out;  // kernels/conv2d.h order
  memory scratch;     // oneDNN's scratchpad (user mode), in the workspace
  size_t scratch_offset = 0, bytes = 0;
  std::vector<dnnl_exec_arg_t> args;
};

using Key = std::array<int, 17>;
Key key_of(ConvPass pass, const Conv2dShape& s) {
  return {static_cast<int>(pass), s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.out_h, s.out_w, s.pad_h, s.pad_w,
          s.stride_h, s.stride_w, s.groups, omp_get_max_threads(), 0};
}

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

void check(dnnl_status_t st, const char* what) {
  if (st != dnnl_success) throw std::runtime_error(std::string("oneDNN convolution: ") + what + " failed (status " +
                                                   std::to_string(static_cast<int>(st)) + ")");
}

// The operand's memories and reorder for a primitive that wants `want`;
// `input` says which way the reorder goes. Reorder buffers are laid out from
// `*offset` on.
void bind(Operand& o, const memory::desc& user_md, const memory::desc& want, bool input, size_t* offset) {
  const dnnl::engine& e = cpu_engine();
  o.user = memory(user_md, e, DNNL_MEMORY_NONE);
  if (want == user_md) {
    o.prim = o.user;
    return;
  }
  o.reordered = true;
  o.prim = memory(want, e, DNNL_MEMORY_NONE);
  o.offset = *offset;
  *offset += align64(want.get_size());
  const memory& from = input ? o.user : o.prim;
  const memory& to = input ? o.prim : o.user;
  o.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(from, to));
  o.reorder_args = {{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}};
  o.serial = user_md.get_size() < kSerialReorderBytes && want.get_size() < kSerialReorderBytes;
}

std::unique_ptr<Entry> build(ConvPass pass, const Conv2dShape& s) {
  auto en = std::make_unique<Entry>();
  const memory::dims x_dims{s.n, s.c, s.h, s.w}, y_dims{s.n, s.k, s.out_h, s.out_w};
  const memory::dims w_dims = s.groups == 1 ? memory::dims{s.k, s.c, s.kh, s.kw}
                                            : memory::dims{s.groups, s.k / s.groups, s.c / s.groups, s.kh, s.kw};
  const auto f32 = memory::data_type::f32;
  // Ours: NCHW activations, [K, C/G, kh, kw] weights (goihw is that layout with the group split out).
  const memory::desc x_user(x_dims, f32, Tag::nchw), y_user(y_dims, f32, Tag::nchw);
  const memory::desc w_user(w_dims, f32, s.groups == 1 ? Tag::oihw : Tag::goihw);
  const memory::desc x_any(x_dims, f32, Tag::any), y_any(y_dims, f32, Tag::any), w_any(w_dims, f32, Tag::any);
  const memory::dims strides{s.stride_h, s.stride_w}, pad_l{s.pad_h, s.pad_w};
  // The far padding that gives out_h x out_w (less than pad_l, even negative,
  // when the stride does not reach the last rows).
  const memory::dims pad_r{(s.out_h - 1) * s.stride_h + s.kh - s.h - s.pad_h,
                           (s.out_w - 1) * s.stride_w + s.kw - s.w - s.pad_w};
  try {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::engine& e = cpu_engine();
    const dnnl::convolution_forward::desc fwd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                              x_any, w_any, y_any, strides, pad_l, pad_r);
    const dnnl::convolution_forward::primitive_desc fwd_pd(fwd, attr, e);
    size_t offset = 0;
    memory::desc scratch_md;
    int arg_a = 0, arg_b = 0, arg_out = 0;
    switch (pass) {
      case ConvPass::forward:
        en->prim = dnnl::convolution_forward(fwd_pd);
        bind(en->a, x_user, fwd_pd.src_desc(), true, &offset);
        bind(en->b, w_user, fwd_pd.weights_desc(), true, &offset);
        bind(en->out, y_user, fwd_pd.dst_desc(), false, &offset);
        scratch_md = fwd_pd.scratchpad_desc();
        arg_a = DNNL_ARG_SRC, arg_b = DNNL_ARG_WEIGHTS, arg_out = DNNL_ARG_DST;
        break;
      case ConvPass::backward_data: {
        const dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, x_any, w_any, y_any,
                                                      strides, pad_l, pad_r);
        const dnnl::convolution_backward_data::primitive_desc pd(d, attr, e, fwd_pd);
        en->prim = dnnl::convolution_backward_data(pd);
        bind(en->a, y_user, pd.diff_dst_desc(), true, &offset);
        bind(en->b, w_user, pd.weights_desc(), true, &offset);
        bind(en->out, x_user, pd.diff_src_desc(), false, &offset);
        scratch_md = pd.scratchpad_desc();
        arg_a = DNNL_ARG_DIFF_DST, arg_b = DNNL_ARG_WEIGHTS, arg_out = DNNL_ARG_DIFF_SRC;
        break;
      }
      case ConvPass::backward_filter: {
        const dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, x_any, w_any, y_any,
                                                         strides, pad_l, pad_r);
        const dnnl::convolution_backward_weights::primitive_desc pd(d, attr, e, fwd_pd);
        en->prim = dnnl::convolution_backward_weights(pd);
        bind(en->a, x_user, pd.src_desc(), true, &offset);
        bind(en->b, y_user, pd.diff_dst_desc(), true, &offset);
        bind(en->out, w_user, pd.diff_weights_desc(), false, &offset);
        scratch_md = pd.scratchpad_desc();
        arg_a = DNNL_ARG_SRC, arg_b = DNNL_ARG_DIFF_DST, arg_out = DNNL_ARG_DIFF_WEIGHTS;
        break;
      }
    }
    en->args = {{arg_a, en->a.prim.get()}, {arg_b, en->b.prim.get()}, {arg_out, en->out.prim.get()}};
    if (scratch_md.get_size() > 0) {
      en->scratch = memory(scratch_md, e, DNNL_MEMORY_NONE);
      en->scratch_offset = offset;
      offset += align64(scratch_md.get_size());
      en->args.push_back({DNNL_ARG_SCRATCHPAD, en->scratch.get()});
    }
    en->bytes = offset;
    en->ok = true;
  } catch (const dnnl::error&) {
    en->ok = false;  // a shape oneDNN does not take: the reference runs it
  }
  return en;
}

std::mutex g_mutex;  // the cache, and each entry's memories while a pass runs

Entry& entry(ConvPass pass, const Conv2dShape& s) {
  static std::map<Key, std::unique_ptr<Entry>> cache;
  auto& e = cache[key_of(pass, s)];
  if (!e) e = build(pass, s);
  return *e;
}

void set(const memory& m, const void* p) { check(dnnl_memory_set_data_handle(m.get(), const_cast<void*>(p)), "set_data_handle"); }

void exec(const dnnl::primitive& p, const std::vector<dnnl_exec_arg_t>& args) {
  check(dnnl_primitive_execute(p.get(), cpu_stream().get(), static_cast<int>(args.size()), args.data()), "execute");
}

// oneDNN's OpenMP runtime sizes each execution's region by
// omp_get_max_threads(), and runs on the calling thread when that is 1.
void exec_reorder(const Operand& o) {
  if (!o.serial) return exec(o.reorder, o.reorder_args);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  try {
    exec(o.reorder, o.reorder_args);
  } catch (...) {
    omp_set_num_threads(threads);
    throw;
  }
  omp_set_num_threads(threads);
}

}  // namespace

bool supports(ConvPass pass, const Conv2dShape& s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return entry(pass, s).ok;
}

size_t workspace_bytes(ConvPass pass, const Conv2dShape& s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const Entry& e = entry(pass, s);
  return e.ok ? e.bytes : 0;
}

void run(ConvPass pass, const Conv2dShape& s, const float* a, const float* b, float* out, void* workspace,
         size_t workspace_bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Entry& e = entry(pass, s);
  if (!e.ok || workspace_bytes < e.bytes)
    throw std::runtime_error("oneDNN convolution: unsupported shape or workspace too small");
  char* ws = static_cast<char*>(workspace);
  const void* user[3] = {a, b, out};
  Operand* ops[3] = {&e.a, &e.b, &e.out};
  for (int i = 0; i < 3; ++i) {
    set(ops[i]->user, user[i]);
    if (ops[i]->reordered) set(ops[i]->prim, ws + ops[i]->offset);
  }
  if (e.scratch) set(e.scratch, ws + e.scratch_offset);
  for (Operand* o : {&e.a, &e.b})
    if (o->reordered) exec_reorder(*o);
  exec(e.prim, e.args);
  if (e.out.reordered) exec_reorder(e.out);
}

}  // namespace gf::cpu::onednn

#else  // no oneDNN in this build: every pass takes the reference

#include <stdexcept>

namespace gf::cpu::onednn {
bool supports(ConvPass, const Conv2dShape&) { return false; }
size_t workspace_bytes(ConvPass, const Conv2dShape&) { return 0; }
void run(ConvPass, const Conv2dShape&, const float*, const float*, float*, void*, size_t) {
  throw std::runtime_error("oneDNN convolution: this build has no oneDNN");
}
}  // namespace gf::cpu::onednn

#endif
