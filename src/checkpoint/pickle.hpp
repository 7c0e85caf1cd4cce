#pragma once
// A pickle reader (protocols 0-5) that never executes anything: it builds a tree of values.
// Python's unpickler imports a module and calls whatever GLOBAL/REDUCE name; this one only knows a
// few containers (OrderedDict, defaultdict, set, bytes encodings) and asks its Hooks (the torch
// layer) about the rest. Everything else becomes an opaque object that callers skip.
// Values live in an arena owned by the Unpickler, so cycles a hostile pickle builds cannot leak.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace swinsmt::ckpt {

enum class Kind {
  none,
  boolean,
  integer,      ///< fits in int64
  big_integer,  ///< does not: `text` holds the decimal digits (with '-' if negative)
  floating,
  string,  ///< `text` holds the UTF-8 (or, for protocol 0/1 strings, raw) bytes
  bytes,   ///< `text` holds the bytes (also bytearray)
  list,
  tuple,
  set,       ///< set and frozenset
  dict,      ///< dict, OrderedDict, defaultdict
  global,    ///< a GLOBAL reference that was not called: module in `text`, then `name`
  object,    ///< opaque instance or call result: `text` is its type ("argparse.Namespace")
  external,  ///< created by the Hooks (a torch storage or tensor): `integer` is their id
};

struct Value {
  explicit Value(Kind k) : kind(k) {}
  Kind kind;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0.0;
  std::string text;
  std::string name;  ///< global: the name in module `text`
  /// list, tuple and set elements; an opaque object's APPENDed items.
  std::vector<Value*> items;
  /// dict entries in insertion order; an opaque object's SETITEMs.
  std::vector<std::pair<Value*, Value*>> entries;
  /// object: the arguments it was called with and the BUILD state (may be null).
  Value* args = nullptr;
  Value* state = nullptr;
  /// Containment depth when children were added (see Limits::max_depth).
  int depth = 0;

  bool is(Kind k) const { return kind == k; }
  bool is_string(const char* s) const { return kind == Kind::string && text == s; }
  /// "module.name" of a global, or an object's type.
  std::string qualified() const { return kind == Kind::global ? text + "." + name : text; }
  /// Value of a dict entry with a string key, or nullptr.
  Value* get(const std::string& key) const;

 private:
  friend class Unpickler;
  /// Hashable key -> position in entries; allocated by the first SETITEM (most values are scalars).
  std::unique_ptr<std::unordered_map<std::string, size_t>> index_;
};

/// Bounds that keep a hostile pickle from exhausting memory or the C++ stack of later walkers.
/// Python frees what a pickle pops; this machine keeps every value until it is destroyed, so a few
/// megabytes of "make an empty list, pop it" could otherwise ask for gigabytes. A SwinSMT training
/// checkpoint with optimizer states creates some 20 000 values; the limits are far above any real one.
struct Limits {
  size_t max_values = size_t{1} << 21;  ///< values created (None, booleans, small ints are shared)
  size_t max_items = size_t{1} << 24;   ///< elements of all containers together
  size_t max_stack = size_t{1} << 22;   ///< values on the stack (all marks together)
  size_t max_marks = size_t{1} << 16;   ///< open MARKs
  size_t max_memo = size_t{1} << 24;    ///< memo entries
  int max_depth = 1000;                 ///< containers nested in containers
};

class Unpickler;

/// What the torch layer adds to the plain pickle machine.
class Hooks {
 public:
  virtual ~Hooks() = default;
  /// BINPERSID / PERSID: returns the value the persistent id stands for (a storage).
  virtual Value* persistent_load(Unpickler& u, Value* pid) = 0;
  /// REDUCE / NEWOBJ of a global the machine does not know: returns the result, or nullptr to make
  /// an opaque object. Must not throw for unknown names.
  virtual Value* call(Unpickler& u, const Value& callable, Value* args) = 0;
};

class Unpickler {
 public:
  /// `source` names the origin in errors ("model.pth: record archive/data.pkl").
  Unpickler(const uint8_t* data, size_t size, std::string source, Hooks* hooks = nullptr, Limits limits = {});
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  /// Runs one pickle up to its STOP and returns its value. Can be called again for a pickle that
  /// follows (the legacy torch format writes several in a row); each starts with an empty memo.
  Value* load();
  /// Offset just after the last STOP (or where reading stopped).
  size_t position() const { return pos_; }
  const std::string& source() const { return source_; }

  /// A new value owned by this unpickler.
  Value* make(Kind kind);
  /// Throws swinsmt::Error: "<source>: pickle offset N (OPCODE): <what>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void run();  // the opcode loop of load()
  uint8_t byte();
  const uint8_t* take(uint64_t n);
  uint64_t le(int bytes);
  std::string line();
  Value* pop();
  Value* top();
  std::vector<Value*> pop_mark();
  void push(Value* v);
  void memo_put(uint64_t index);
  Value* memo_get(uint64_t index);
  void add_item(Value* container, Value* item);
  void set_item(Value* container, Value* key, Value* value);
  Value* call(Value* callable, Value* args);
  Value* builtin_call(const Value& callable, Value* args);
  void build(Value* target, Value* state);
  Value* make_int_from_le(const uint8_t* p, size_t n);
  Value* make_small_int(int64_t v);
  Value* shared(Kind kind, bool flag = false);
  void count_items(size_t n);
  Value* make_int_from_text(const std::string& text);
  void check_depth(Value* container, const Value* child);

  const uint8_t* data_;
  size_t size_, pos_ = 0, op_pos_ = 0;
  uint8_t op_ = 0;
  std::string source_;
  Hooks* hooks_;
  Limits limits_;
  std::vector<std::unique_ptr<Value>> arena_;
  // Immutable values shared by every use: None, False, True, (), 0..255.
  Value* none_ = nullptr;
  Value* bools_[2] = {nullptr, nullptr};
  Value* empty_tuple_ = nullptr;
  std::vector<Value*> small_ints_;
  size_t items_ = 0;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value*> memo_;
};

}  // namespace swinsmt::ckpt
