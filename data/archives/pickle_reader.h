// A restricted reader of Python pickles (protocols 0-5, the opcodes of
// pickle.py's format) for data files such as CIFAR-10's batches: dicts,
// lists, tuples, numbers, strings and NumPy arrays. It runs no code: the
// only globals it knows are NumPy's array and dtype reconstructors and
// _codecs.encode (how protocol 2 stores Python 3 bytes); any other global,
// and the text opcodes of strings (S, V), throw gf::Error naming the file.
//
// Python 2 strings (pickled by cPickle, as CIFAR-10's are) come out as
// PyValue::Kind::bytes, their bytes unchanged: what pickle.load(...,
// encoding='latin1') makes of them up to the decoding, which is the identity
// on bytes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gf {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

struct PyValue {
  enum class Kind { none, boolean, integer, real, text, bytes, list, tuple, dict, global, dtype, ndarray };
  Kind kind = Kind::none;
  int64_t integer = 0;          // boolean, integer
  double real = 0;              // real
  std::string str;              // text (UTF-8), bytes (raw), global ("module.name"), dtype ("u1", "i8", ...)
  std::vector<PyRef> items;     // list, tuple
  std::vector<std::pair<PyRef, PyRef>> entries;  // dict, in insertion order (a later equal key replaces)
  // ndarray: its dtype (str, e.g. "u1"; byte_order '<', '>', '|' or '='), shape, order and raw data.
  char byte_order = '|';        // dtype, ndarray
  std::vector<int64_t> shape;   // ndarray
  bool fortran_order = false;   // ndarray
  std::string data;             // ndarray: the elements' bytes

  PyValue() = default;
  PyValue(const PyValue&) = delete;
  PyValue& operator=(const PyValue&) = delete;
  // Frees nested values without recursion: a pickle of a few KB nests a
  // tuple a million levels deep, which a recursive free overflowed the stack on.
  ~PyValue();

  // The value of a dict entry whose key is the text or bytes `key` (its
  // last pair, as a dict keeps the last); nullptr when absent.
  PyRef get(const std::string& key) const;
  // "dict", "list", "numpy array of u1", ...: for messages.
  std::string type_name() const;
};

// The most values a pickle may make (pushes onto the unpickler's stack and
// memo entries).
inline constexpr size_t kMaxPickleValues = size_t(1) << 20;

// Unpickles `data` (a whole pickle, up to its STOP). Throws gf::Error
// "<what>: <why>" on a malformed or truncated pickle, an unknown global,
// more than kMaxPickleValues values, or arrays (and encoded bytes) copying
// more than twice the pickle's size plus 1 MiB out of its buffers.
PyRef read_pickle(const uint8_t* data, size_t n, const std::string& what);

}  // namespace gf
