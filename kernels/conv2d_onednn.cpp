#include "kernels/conv2d_onednn.h"

#include "kernels/common.h"
#include "kernels/parallel.h"

#ifdef GF_WITH_ONEDNN

#include <omp.h>

#include <array>
#include <dnnl.hpp>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace gf::cpu::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
// A stream is not to be shared between threads; a CPU stream is only a
// handle, so each host thread keeps its own.
dnnl::stream& cpu_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

// One of a pass's three tensors: `user` in our layout (over the caller's
// pointer), `prim` in the primitive's, and the reorder between them (user ->
// prim for an input, prim -> user for the output) when they differ. A
// reordered tensor's `prim` lives at `offset` in the workspace, the
// reorder's scratchpad (if any) at `scratch_offset`.
struct Operand {
  memory::desc user, prim;
  dnnl::primitive reorder;
  memory::desc scratch;
  bool reordered = false;
  bool serial = false;  // small enough to reorder on the calling thread
  size_t offset = 0, scratch_offset = 0;
};

// A reorder is a copy between layouts; below the elementwise kernels'
// threshold (kernels/common.h) it runs on the calling thread instead of
// opening a parallel region. The result is the same bits either way.
constexpr size_t kSerialReorderBytes = size_t(kMinParallelWork) * sizeof(float);

// A pass of one shape, built once and never changed after: several host
// threads run it at once, each with its own memory objects over its own
// pointers and workspace. Every scratchpad is in user mode (in the
// workspace), which is what makes a primitive safe to run concurrently.
struct Entry {
  bool ok = false;
  dnnl::primitive prim;
  Operand a, b, out;  // kernels/conv2d.h order
  int arg_a = 0, arg_b = 0, arg_out = 0;
  memory::desc scratch;  // the convolution's scratchpad, in the workspace
  size_t scratch_offset = 0, bytes = 0;
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

// Reserves `bytes` of the workspace from `*offset` on; returns its offset.
size_t reserve(size_t bytes, size_t* offset) {
  const size_t at = *offset;
  *offset += align64(bytes);
  return at;
}

// The operand's layouts and reorder for a primitive that wants `want`;
// `input` says which way the reorder goes. Reorder buffers are laid out from
// `*offset` on.
void bind(Operand& o, const memory::desc& user_md, const memory::desc& want, bool input, size_t* offset) {
  o.user = user_md;
  o.prim = want;
  if (want == user_md) return;
  o.reordered = true;
  o.offset = reserve(want.get_size(), offset);
  const dnnl::engine& e = cpu_engine();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::reorder::primitive_desc pd = input ? dnnl::reorder::primitive_desc(e, user_md, e, want, attr)
                                                 : dnnl::reorder::primitive_desc(e, want, e, user_md, attr);
  o.reorder = dnnl::reorder(pd);
  o.scratch = pd.scratchpad_desc();
  if (o.scratch.get_size() > 0) o.scratch_offset = reserve(o.scratch.get_size(), offset);
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
    int& arg_a = en->arg_a;
    int& arg_b = en->arg_b;
    int& arg_out = en->arg_out;
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
    en->scratch = scratch_md;
    if (scratch_md.get_size() > 0) en->scratch_offset = reserve(scratch_md.get_size(), &offset);
    en->bytes = offset;
    en->ok = true;
  } catch (const dnnl::error&) {
    en->ok = false;  // a shape oneDNN does not take: the reference runs it
  }
  return en;
}

// The entry of a pass's shape, built on first use. The lock covers the
// cache alone: an entry is built outside it (a millisecond of oneDNN's JIT
// that other threads' cached shapes need not wait for; two threads building
// one shape keep the first), and entries are never changed or removed once
// in, so a reference to one stays valid and is used without the lock.
const Entry& entry(ConvPass pass, const Conv2dShape& s) {
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Entry>> cache;
  const Key key = key_of(pass, s);
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = cache.find(key);
    if (it != cache.end()) return *it->second;
  }
  std::unique_ptr<Entry> built = build(pass, s);
  std::lock_guard<std::mutex> lock(mutex);
  return *cache.emplace(key, std::move(built)).first->second;  // keeps one built meanwhile
}

memory over(const memory::desc& md, const void* p) { return memory(md, cpu_engine(), const_cast<void*>(p)); }

// Runs a primitive on its (at most three) operands and, when `scratch` has
// bytes, its scratchpad at `scratch_at`. The arguments stay on the stack:
// this runs for every convolution call. A CPU stream's execution is done
// when it returns, so the scratchpad's memory object may go with it.
void exec(const dnnl::primitive& p, std::initializer_list<dnnl_exec_arg_t> operands, const memory::desc& scratch,
          char* scratch_at) {
  std::array<dnnl_exec_arg_t, 4> args{};
  int n = 0;
  for (const dnnl_exec_arg_t& a : operands) args[size_t(n++)] = a;
  memory scratch_memory;
  if (scratch.get_size() > 0) {
    scratch_memory = over(scratch, scratch_at);
    args[size_t(n++)] = {DNNL_ARG_SCRATCHPAD, scratch_memory.get()};
  }
  check(dnnl_primitive_execute(p.get(), cpu_stream().get(), n, args.data()), "execute");
}

// oneDNN's OpenMP runtime sizes each execution's region by
// omp_get_max_threads() (this thread's setting), and runs on the calling
// thread when that is 1.
void exec_reorder(const Operand& o, const memory& user, const memory& prim, bool input, char* ws) {
  const memory& from = input ? user : prim;
  const memory& to = input ? prim : user;
  const auto run = [&] {
    exec(o.reorder, {{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}}, o.scratch, ws + o.scratch_offset);
  };
  if (!o.serial) return run();
  with_team_size_one(run);
}

}  // namespace

bool supports(ConvPass pass, const Conv2dShape& s) { return entry(pass, s).ok; }

size_t workspace_bytes(ConvPass pass, const Conv2dShape& s) {
  const Entry& e = entry(pass, s);
  return e.ok ? e.bytes : 0;
}

void run(ConvPass pass, const Conv2dShape& s, const float* a, const float* b, float* out, void* workspace,
         size_t workspace_bytes) {
  const Entry& e = entry(pass, s);
  if (!e.ok || workspace_bytes < e.bytes)
    throw std::runtime_error("oneDNN convolution: unsupported shape or workspace too small");
  char* ws = static_cast<char*>(workspace);
  // This call's own memory objects: only the pointers differ between calls.
  const void* pointers[3] = {a, b, out};
  const Operand* ops[3] = {&e.a, &e.b, &e.out};
  memory user[3], prim[3];
  for (int i = 0; i < 3; ++i) {
    user[i] = over(ops[i]->user, pointers[i]);
    prim[i] = ops[i]->reordered ? over(ops[i]->prim, ws + ops[i]->offset) : user[i];
  }
  for (int i = 0; i < 2; ++i)
    if (ops[i]->reordered) exec_reorder(*ops[i], user[i], prim[i], true, ws);
  exec(e.prim, {{e.arg_a, prim[0].get()}, {e.arg_b, prim[1].get()}, {e.arg_out, prim[2].get()}}, e.scratch,
       ws + e.scratch_offset);
  if (e.out.reordered) exec_reorder(e.out, user[2], prim[2], false, ws);
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
