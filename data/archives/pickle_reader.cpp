#include "data/archives/pickle_reader.h"

#include <cstring>
#include <unordered_map>

#include "engine/error.h"

namespace gf {

PyValue::~PyValue() {
  std::vector<PyRef> work;
  auto take = [&work](PyValue& v) {
    for (PyRef& c : v.items) work.push_back(std::move(c));
    for (auto& [k, c] : v.entries) work.push_back(std::move(k)), work.push_back(std::move(c));
    v.items.clear();
    v.entries.clear();
  };
  take(*this);
  while (!work.empty()) {
    PyRef v = std::move(work.back());
    work.pop_back();
    if (v && v.use_count() == 1) take(*v);  // the last owner: its children go to the list, not the stack
  }
}

PyRef PyValue::get(const std::string& key) const {
  PyRef found;
  for (const auto& [k, v] : entries)
    if ((k->kind == Kind::text || k->kind == Kind::bytes) && k->str == key) found = v;
  return found;
}

std::string PyValue::type_name() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::text: return "str";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::global: return str;
    case Kind::dtype: return "numpy dtype " + str;
    case Kind::ndarray: return "numpy array of " + str;
  }
  return "?";
}

namespace {

using Kind = PyValue::Kind;

PyRef make(Kind k) {
  auto v = std::make_shared<PyValue>();
  v->kind = k;
  return v;
}
PyRef make_int(int64_t i, Kind k = Kind::integer) {
  PyRef v = make(k);
  v->integer = i;
  return v;
}
PyRef make_str(std::string s, Kind k) {
  PyRef v = make(k);
  v->str = std::move(s);
  return v;
}

// Text (UTF-8) to Latin-1 bytes, as _codecs.encode(text, 'latin1'): how
// protocol 2 stores Python 3 bytes; false for a code point past 255.
bool utf8_to_latin1(const std::string& in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += char(c);
    } else if ((c & 0xE0) == 0xC0 && c <= 0xC3 && i + 1 < in.size()) {
      out += char(((c & 0x1F) << 6) | (static_cast<unsigned char>(in[++i]) & 0x3F));
    } else {
      return false;
    }
  }
  return true;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t n, const std::string& what) : p_(data), n_(n), what_(what) {}

  PyRef run() {
    for (;;) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;            // PROTO
        case 0x95: bytes(8); break;          // FRAME: a length hint
        case '.':                            // STOP
          if (stack_.size() != 1 || !marks_.empty()) bad("STOP with " + std::to_string(stack_.size()) + " values on the stack");
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;              // POP
        case '1': pop_mark(); break;         // POP_MARK
        case '2': push(top()); break;        // DUP
        case 'N': push(make(Kind::none)); break;
        case 0x88: push(make_int(1, Kind::boolean)); break;  // NEWTRUE
        case 0x89: push(make_int(0, Kind::boolean)); break;  // NEWFALSE
        case 'J': push(make_int(int32_t(le(4)))); break;     // BININT
        case 'K': push(make_int(int64_t(le(1)))); break;     // BININT1
        case 'M': push(make_int(int64_t(le(2)))); break;     // BININT2
        case 0x8a: push(make_int(long_bytes(le(1)))); break; // LONG1
        case 0x8b: push(make_int(long_bytes(le(4)))); break; // LONG4
        case 'I': case 'L': push(text_int(op)); break;       // INT, LONG (protocol 0)
        case 'G': {                                          // BINFLOAT: big-endian double
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | byte();
          PyRef v = make(Kind::real);
          std::memcpy(&v->real, &bits, 8);
          push(v);
          break;
        }
        case 'F': {
          PyRef v = make(Kind::real);
          v->real = std::strtod(line().c_str(), nullptr);
          push(v);
          break;
        }
        // Python 2 strings (bytes here), bytes, then text.
        case 'U': push(make_str(bytes(le(1)), Kind::bytes)); break;  // SHORT_BINSTRING
        case 'T': push(make_str(bytes(le(4)), Kind::bytes)); break;  // BINSTRING
        case 'C': push(make_str(bytes(le(1)), Kind::bytes)); break;  // SHORT_BINBYTES
        case 'B': push(make_str(bytes(le(4)), Kind::bytes)); break;  // BINBYTES
        case 0x8e: push(make_str(bytes(le(8)), Kind::bytes)); break; // BINBYTES8
        case 0x96: push(make_str(bytes(le(8)), Kind::bytes)); break; // BYTEARRAY8
        case 0x8c: push(make_str(bytes(le(1)), Kind::text)); break;  // SHORT_BINUNICODE
        case 'X': push(make_str(bytes(le(4)), Kind::text)); break;   // BINUNICODE
        case 0x8d: push(make_str(bytes(le(8)), Kind::text)); break;  // BINUNICODE8
        case ']': push(make(Kind::list)); break;   // EMPTY_LIST
        case ')': push(make(Kind::tuple)); break;  // EMPTY_TUPLE
        case '}': push(make(Kind::dict)); break;   // EMPTY_DICT
        case 0x8f: push(make(Kind::list)); break;  // EMPTY_SET: kept as a list
        case 'l': case 't': case 0x90: case 0x91: {  // LIST, TUPLE, ADDITEMS, FROZENSET
          std::vector<PyRef> items = pop_mark();
          if (op == 0x90) {
            append_all(top(), std::move(items));
          } else {
            PyRef v = make(op == 't' ? Kind::tuple : Kind::list);
            v->items = std::move(items);
            push(v);
          }
          break;
        }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
          const size_t k = op - 0x84u;
          if (stack_.size() < k + floor()) bad("tuple of " + std::to_string(k) + " from a shorter stack");
          PyRef v = make(Kind::tuple);
          v->items.assign(stack_.end() - long(k), stack_.end());
          stack_.resize(stack_.size() - k);
          push(v);
          break;
        }
        case 'a': {  // APPEND
          PyRef item = pop();
          append_all(top(), {item});
          break;
        }
        case 'e': {  // APPENDS
          std::vector<PyRef> items = pop_mark();
          append_all(top(), std::move(items));
          break;
        }
        case 'd': {  // DICT
          std::vector<PyRef> kv = pop_mark();
          PyRef d = make(Kind::dict);
          set_items(d, kv);
          push(d);
          break;
        }
        case 's': {  // SETITEM
          PyRef v = pop(), k = pop();
          set_items(top(), {k, v});
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<PyRef> kv = pop_mark();
          set_items(top(), kv);
          break;
        }
        case 'c': {  // GLOBAL: "module\nname\n"
          const std::string module = line();
          push(global(module, line()));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          PyRef name = pop(), module = pop();
          if (module->kind != Kind::text || name->kind != Kind::text) bad("STACK_GLOBAL of a non-string");
          push(global(module->str, name->str));
          break;
        }
        case 'R': {  // REDUCE
          PyRef args = pop(), callable = pop();
          if (args->kind != Kind::tuple) bad("REDUCE with " + args->type_name() + " arguments");
          push(reduce(callable, args->items));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
          PyRef args = pop(), cls = pop();
          if (args->kind != Kind::tuple) bad("NEWOBJ with " + args->type_name() + " arguments");
          push(reduce(cls, args->items));
          break;
        }
        case 'b': {  // BUILD
          PyRef state = pop();
          build(top(), state);
          break;
        }
        case 'q': count_value(), memo_[le(1)] = top(); break;   // BINPUT
        case 'r': count_value(), memo_[le(4)] = top(); break;   // LONG_BINPUT
        case 'p': count_value(), memo_[text_index()] = top(); break;  // PUT
        case 0x94: count_value(), memo_[memo_.size()] = top(); break;        // MEMOIZE
        case 'h': push(memo(le(1))); break;      // BINGET
        case 'j': push(memo(le(4))); break;      // LONG_BINGET
        case 'g': push(memo(text_index())); break;     // GET
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          bad(std::string("pickle opcode ") + hex + " at byte " + std::to_string(pos_ - 1) + " is not supported");
        }
      }
    }
  }

 private:
  [[noreturn]] void bad(const std::string& why) const { throw Error(what_ + ": " + why + " (not a pickle this reader takes)"); }

  uint8_t byte() {
    if (pos_ >= n_) bad("the pickle ends before its STOP (truncated file?)");
    return p_[pos_++];
  }
  std::string bytes(uint64_t k) {
    if (k > n_ - pos_) bad("a string of " + std::to_string(k) + " bytes runs past the end of the data (truncated file?)");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), size_t(k));
    pos_ += size_t(k);
    return s;
  }
  uint64_t le(int k) {
    uint64_t v = 0;
    for (int i = 0; i < k; ++i) v |= uint64_t(byte()) << (8 * i);
    return v;
  }
  // PUT's and GET's memo index: a line of decimal digits.
  uint64_t text_index() {
    const std::string s = line();
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      bad("a memo index '" + s.substr(0, 40) + "' that is not a number");
    return std::stoull(s);
  }
  std::string line() {
    std::string s;
    for (uint8_t c; (c = byte()) != '\n';) s += char(c);
    return s;
  }
  // LONG1/LONG4: little-endian two's complement of k bytes, kept to 64 bits.
  int64_t long_bytes(uint64_t k) {
    if (k > 8) bad("an integer of " + std::to_string(k) + " bytes is past 64 bits");
    const std::string s = bytes(k);
    uint64_t v = 0;
    for (size_t i = 0; i < s.size(); ++i) v |= uint64_t(static_cast<unsigned char>(s[i])) << (8 * i);
    if (k > 0 && k < 8 && (static_cast<unsigned char>(s.back()) & 0x80)) v |= ~uint64_t(0) << (8 * k);
    return int64_t(v);
  }
  PyRef text_int(uint8_t op) {
    std::string s = line();
    if (op == 'L' && !s.empty() && s.back() == 'L') s.pop_back();
    if (op == 'I' && (s == "00" || s == "01")) return make_int(s == "01", Kind::boolean);
    try {
      return make_int(std::stoll(s));
    } catch (const std::exception&) {
      bad("integer '" + s + "' out of range");
    }
  }

  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Each opcode byte may push a value of ~200 bytes or add a memo entry:
  // bounded, a few MB of 'N' bytes (gzipped to kilobytes) held gigabytes
  // before its STOP.
  void count_value() {
    if (++values_ > kMaxPickleValues)
      bad("more than " + std::to_string(kMaxPickleValues) + " values (a CIFAR-10 batch makes under 50,000)");
  }
  // Bytes copied out of existing values (an array's data from its buffer,
  // _codecs.encode's bytes from its text): a buffer memoized once and built
  // into 200,000 arrays copied it each time, gigabytes from a 25 kB
  // tarball. A pickle's own buffers are in its bytes, each copied at most
  // twice (encoded, then built), so twice its size bounds any real one.
  void count_copy(size_t bytes) {
    copied_ += bytes;
    if (copied_ > 2 * uint64_t(n_) + (uint64_t(1) << 20))
      bad("its arrays copy over " + std::to_string(copied_) + " bytes out of a pickle of " + std::to_string(n_) +
          " (one buffer built into many arrays)");
  }
  void push(PyRef v) {
    count_value();
    stack_.push_back(std::move(v));
  }
  PyRef top() const {
    if (stack_.size() <= floor()) bad("an opcode needs a value on an empty stack");
    return stack_.back();
  }
  PyRef pop() {
    PyRef v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty()) bad("an opcode needs a MARK that is not there");
    const size_t at = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(stack_.begin() + long(at), stack_.end());
    stack_.resize(at);
    return items;
  }
  PyRef memo(uint64_t i) const {
    const auto it = memo_.find(i);
    if (it == memo_.end()) bad("memo entry " + std::to_string(i) + " read before it was written");
    return it->second;
  }
  void append_all(const PyRef& to, std::vector<PyRef> items) {
    if (to->kind != Kind::list) bad("append to a " + to->type_name());
    for (PyRef& v : items) to->items.push_back(std::move(v));
  }
  void set_items(const PyRef& d, const std::vector<PyRef>& kv) {
    if (d->kind != Kind::dict) bad("setitem on a " + d->type_name());
    if (kv.size() % 2) bad("a dict's items of an odd count");
    // Appended: get() takes a key's last pair, as a dict keeps the last
    // (a search here made a dict of n pairs cost n^2).
    for (size_t i = 0; i < kv.size(); i += 2) d->entries.emplace_back(kv[i], kv[i + 1]);
  }

  // numpy.core (NumPy 1) or numpy._core (NumPy 2) module names alike.
  PyRef global(std::string module, const std::string& name) {
    if (module.rfind("numpy._core", 0) == 0) module = "numpy.core" + module.substr(11);
    const std::string full = module + "." + name;
    static const char* kKnown[] = {"numpy.core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
                                   "numpy.core.numeric._frombuffer", "numpy.core.multiarray.scalar",
                                   "_codecs.encode"};
    for (const char* k : kKnown)
      if (full == k) return make_str(full, Kind::global);
    bad("it refers to " + full + ", which is not NumPy data");
  }

  // The bytes of an element of the dtypes read; 0 for any other.
  static size_t item_size(const std::string& dtype) {
    static const std::pair<const char*, size_t> kKnown[] = {{"b1", 1}, {"u1", 1}, {"i1", 1}, {"u2", 2}, {"i2", 2},
                                                            {"f2", 2}, {"u4", 4}, {"i4", 4}, {"f4", 4}, {"u8", 8},
                                                            {"i8", 8}, {"f8", 8}};
    for (const auto& [name, size] : kKnown)
      if (dtype == name) return size;
    return 0;
  }

  PyRef make_dtype(const PyRef& name) {
    if (name->kind != Kind::text && name->kind != Kind::bytes) bad("numpy.dtype of a " + name->type_name());
    std::string s = name->str;
    PyRef d = make(Kind::dtype);
    if (!s.empty() && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) d->byte_order = s[0], s = s.substr(1);
    d->str = s;
    return d;
  }

  PyRef reduce(const PyRef& callable, const std::vector<PyRef>& args) {
    if (callable->kind != Kind::global) bad("REDUCE on a " + callable->type_name());
    const std::string& f = callable->str;
    if (f == "numpy.core.multiarray._reconstruct") return make(Kind::ndarray);  // filled by BUILD
    if (f == "numpy.dtype") {
      if (args.empty()) bad("numpy.dtype without arguments");
      return make_dtype(args[0]);
    }
    if (f == "_codecs.encode") {
      if (args.empty() || args[0]->kind != Kind::text) bad("_codecs.encode of a non-string");
      PyRef b = make(Kind::bytes);
      count_copy(args[0]->str.size());
      if (!utf8_to_latin1(args[0]->str, b->str)) bad("_codecs.encode of text beyond Latin-1");
      return b;
    }
    if (f == "numpy.core.numeric._frombuffer") {  // (buffer, dtype, shape, order)
      if (args.size() != 4 || args[0]->kind != Kind::bytes || args[1]->kind != Kind::dtype || args[2]->kind != Kind::tuple)
        bad("numpy's _frombuffer with unexpected arguments");
      PyRef a = make(Kind::ndarray);
      a->str = args[1]->str;
      a->byte_order = args[1]->byte_order;
      for (const PyRef& d : args[2]->items) a->shape.push_back(d->integer);
      a->fortran_order = args[3]->str == "F";
      count_copy(args[0]->str.size());
      a->data = args[0]->str;
      check_size(*a);
      return a;
    }
    if (f == "numpy.core.multiarray.scalar") {  // (dtype, bytes): a NumPy integer, e.g. a label
      if (args.size() != 2 || args[0]->kind != Kind::dtype || args[1]->kind != Kind::bytes) bad("numpy scalar with unexpected arguments");
      const std::string& t = args[0]->str;
      const std::string& raw = args[1]->str;
      // An unknown type (item size 0: 'i3' once read 0 bytes, then shifted by -1) is refused first.
      const size_t item = item_size(t);
      if (item == 0 || (t[0] != 'i' && t[0] != 'u') || raw.size() != item || args[0]->byte_order == '>')
        bad("numpy scalar of " + t + " (only little-endian integers are read)");
      uint64_t v = 0;
      for (size_t i = 0; i < raw.size(); ++i) v |= uint64_t(static_cast<unsigned char>(raw[i])) << (8 * i);
      if (t[0] == 'i' && raw.size() < 8 && (v >> (8 * raw.size() - 1)) & 1) v |= ~uint64_t(0) << (8 * raw.size());
      return make_int(int64_t(v));
    }
    bad("cannot call " + f);
  }

  void check_size(const PyValue& a) {
    const size_t item = item_size(a.str);
    if (item == 0) bad("a numpy array of dtype " + a.str + ", which is not read");
    uint64_t count = 1, bytes = 0;
    for (int64_t d : a.shape)
      if (d < 0 || __builtin_mul_overflow(count, uint64_t(d), &count)) bad("a numpy array of a bad shape");
    if (__builtin_mul_overflow(count, uint64_t(item), &bytes) || bytes != a.data.size())
      bad("a numpy array of " + std::to_string(count) + " elements of " + a.str + " holds " +
          std::to_string(a.data.size()) + " bytes");
  }

  void build(const PyRef& obj, const PyRef& state) {
    if (obj->kind == Kind::dtype) {  // (version, byte order, ...)
      if (state->kind == Kind::tuple && state->items.size() >= 2 &&
          (state->items[1]->kind == Kind::text || state->items[1]->kind == Kind::bytes) && state->items[1]->str.size() == 1)
        obj->byte_order = state->items[1]->str[0];
      return;
    }
    if (obj->kind == Kind::ndarray) {  // (version, shape, dtype, is_fortran, data)
      if (state->kind != Kind::tuple || state->items.size() != 5) bad("a numpy array's state is not (version, shape, dtype, order, data)");
      const auto& s = state->items;
      if (s[1]->kind != Kind::tuple || s[2]->kind != Kind::dtype || s[4]->kind != Kind::bytes)
        bad("a numpy array of objects, or of an unexpected state");
      obj->shape.clear();
      for (const PyRef& d : s[1]->items) obj->shape.push_back(d->integer);
      obj->str = s[2]->str;
      obj->byte_order = s[2]->byte_order;
      obj->fortran_order = s[3]->integer != 0;
      count_copy(s[4]->str.size());
      obj->data = s[4]->str;
      check_size(*obj);
      return;
    }
    bad("BUILD on a " + obj->type_name());
  }

  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string what_;
  size_t values_ = 0;  // values pushed and memo entries written so far
  uint64_t copied_ = 0;  // count_copy's bytes so far
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
};

}  // namespace

PyRef read_pickle(const uint8_t* data, size_t n, const std::string& what) { return Unpickler(data, n, what).run(); }

}  // namespace gf
