#include "pickle.hpp"

#include <swinsmt/error.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace swinsmt::ckpt {
namespace {

const char* opcode_name(uint8_t op) {
  switch (op) {
    case '(':
      return "MARK";
    case '.':
      return "STOP";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case 'F':
      return "FLOAT";
    case 'I':
      return "INT";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'L':
      return "LONG";
    case 'M':
      return "BININT2";
    case 'N':
      return "NONE";
    case 'P':
      return "PERSID";
    case 'Q':
      return "BINPERSID";
    case 'R':
      return "REDUCE";
    case 'S':
      return "STRING";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'V':
      return "UNICODE";
    case 'X':
      return "BINUNICODE";
    case 'a':
      return "APPEND";
    case 'b':
      return "BUILD";
    case 'c':
      return "GLOBAL";
    case 'd':
      return "DICT";
    case '}':
      return "EMPTY_DICT";
    case 'e':
      return "APPENDS";
    case 'g':
      return "GET";
    case 'h':
      return "BINGET";
    case 'i':
      return "INST";
    case 'j':
      return "LONG_BINGET";
    case 'l':
      return "LIST";
    case ']':
      return "EMPTY_LIST";
    case 'o':
      return "OBJ";
    case 'p':
      return "PUT";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 's':
      return "SETITEM";
    case 't':
      return "TUPLE";
    case ')':
      return "EMPTY_TUPLE";
    case 'u':
      return "SETITEMS";
    case 'G':
      return "BINFLOAT";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x80:
      return "PROTO";
    case 0x81:
      return "NEWOBJ";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 0x8e:
      return "BINBYTES8";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 0x92:
      return "NEWOBJ_EX";
    case 0x93:
      return "STACK_GLOBAL";
    case 0x94:
      return "MEMOIZE";
    case 0x95:
      return "FRAME";
    case 0x96:
      return "BYTEARRAY8";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
  }
  return nullptr;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
    case Kind::big_integer:
      return "int";
    case Kind::floating:
      return "float";
    case Kind::string:
      return "str";
    case Kind::bytes:
      return "bytes";
    case Kind::list:
      return "list";
    case Kind::tuple:
      return "tuple";
    case Kind::set:
      return "set";
    case Kind::dict:
      return "dict";
    case Kind::global:
      return "global";
    case Kind::object:
      return "object";
    case Kind::external:
      return "tensor/storage";
  }
  return "value";
}

// Python's dict semantics for the keys a checkpoint uses; unhashable or exotic keys get no index
// (then a repeated key is kept twice, which only a hand-made pickle does).
bool hash_key(const Value* v, std::string& out, int depth = 0) {
  auto add = [&out](char tag, const std::string& s) {
    out += tag;
    out += std::to_string(s.size());
    out += ':';
    out += s;
  };
  switch (v->kind) {
    case Kind::none:
      out += 'n';
      return true;
    case Kind::boolean:
      add('i', v->boolean ? "1" : "0");
      return true;
    case Kind::integer:
      add('i', std::to_string(v->integer));
      return true;
    case Kind::big_integer:
      add('i', v->text);
      return true;
    case Kind::floating: {
      // An integral float hashes like the equal int (Python: 1.0 == 1). The range test comes
      // first: converting a float outside int64's range is undefined behaviour (found by fuzzing).
      if (v->floating > -9.2e18 && v->floating < 9.2e18 &&
          v->floating == static_cast<double>(static_cast<int64_t>(v->floating))) {
        add('i', std::to_string(static_cast<int64_t>(v->floating)));
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%a", v->floating);
        add('f', buf);
      }
      return true;
    }
    case Kind::string:
      add('s', v->text);
      return true;
    case Kind::bytes:
      add('b', v->text);
      return true;
    case Kind::global:
      add('g', v->qualified());
      return true;
    case Kind::object:
    case Kind::external: {  // hashed by identity in Python
      char buf[32];
      std::snprintf(buf, sizeof buf, "%p", static_cast<const void*>(v));
      add('o', buf);
      return true;
    }
    case Kind::tuple: {
      if (depth > 8) return false;
      out += "t(";
      for (const Value* item : v->items)
        if (!hash_key(item, out, depth + 1)) return false;
      out += ')';
      return true;
    }
    default:
      return false;
  }
}

// Appends the UTF-8 encoding of a code point.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | ((cp >> 18) & 0x07));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Python's str.encode("latin-1") of UTF-8 text; false if a character is above U+00FF or the text
// is not valid UTF-8.
bool latin1_encode(const std::string& utf8, std::string& out) {
  out.clear();
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<uint8_t>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size() && (static_cast<uint8_t>(utf8[i + 1]) & 0xC0) == 0x80) {
      const uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<uint8_t>(utf8[i + 1]) & 0x3Fu);
      if (cp > 0xFF) return false;
      out += static_cast<char>(cp);
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_any(const std::string& q, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (q == n) return true;
  return false;
}

const Value* tuple_item(const Value* args, size_t i) {
  if (!args || !(args->is(Kind::tuple) || args->is(Kind::list)) || args->items.size() <= i) return nullptr;
  return args->items[i];
}

}  // namespace

Value* Value::get(const std::string& key) const {
  std::string k;
  Value probe(Kind::string);
  probe.text = key;
  hash_key(&probe, k);
  if (!index_) return nullptr;
  const auto it = index_->find(k);
  return it == index_->end() ? nullptr : entries[it->second].second;
}

Unpickler::Unpickler(const uint8_t* data, size_t size, std::string source, Hooks* hooks, Limits limits)
    : data_(data), size_(size), source_(std::move(source)), hooks_(hooks), limits_(limits) {}

Value* Unpickler::make(Kind kind) {
  if (arena_.size() >= limits_.max_values)
    fail("the pickle creates more than " + std::to_string(limits_.max_values) + " values (limit)");
  arena_.push_back(std::make_unique<Value>(kind));
  return arena_.back().get();
}

Value* Unpickler::shared(Kind kind, bool flag) {
  Value*& slot = kind == Kind::none ? none_ : kind == Kind::boolean ? bools_[flag] : empty_tuple_;
  if (!slot) {
    slot = make(kind);
    slot->boolean = flag;
  }
  return slot;
}

Value* Unpickler::make_small_int(int64_t v) {
  if (v < 0 || v > 255) {
    Value* out = make(Kind::integer);
    out->integer = v;
    return out;
  }
  if (small_ints_.empty()) small_ints_.assign(256, nullptr);
  Value*& slot = small_ints_[static_cast<size_t>(v)];
  if (!slot) {
    slot = make(Kind::integer);
    slot->integer = v;
  }
  return slot;
}

void Unpickler::count_items(size_t n) {
  items_ += n;
  if (items_ > limits_.max_items)
    fail("the pickle's containers hold more than " + std::to_string(limits_.max_items) + " elements together (limit)");
}

void Unpickler::fail(const std::string& what) const {
  const char* name = opcode_name(op_);
  char code[8];
  std::snprintf(code, sizeof code, "0x%02x", op_);
  throw Error(source_ + ": pickle offset " + std::to_string(op_pos_) + " (" + (name ? name : code) + "): " + what);
}

uint8_t Unpickler::byte() { return *take(1); }

const uint8_t* Unpickler::take(uint64_t n) {
  if (n > size_ - pos_)
    fail("needs " + std::to_string(n) + " more byte(s) at offset " + std::to_string(pos_) + ", but the pickle has " +
         std::to_string(size_ - pos_) + " left (truncated file?)");
  const uint8_t* p = data_ + pos_;
  pos_ += static_cast<size_t>(n);
  return p;
}

uint64_t Unpickler::le(int bytes) {
  const uint8_t* p = take(bytes);
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string Unpickler::line() {
  constexpr size_t kMaxLine = 1 << 16;
  const size_t limit = std::min(size_, pos_ + kMaxLine);
  const void* nl = std::memchr(data_ + pos_, '\n', limit - pos_);
  if (!nl) fail("text argument has no newline within " + std::to_string(limit - pos_) + " bytes (truncated file?)");
  const size_t end = static_cast<const uint8_t*>(nl) - data_;
  std::string s(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
  pos_ = end + 1;
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

void Unpickler::push(Value* v) {
  if (stack_.size() >= limits_.max_stack)
    fail("the stack holds more than " + std::to_string(limits_.max_stack) + " values (limit)");
  stack_.push_back(v);
}

Value* Unpickler::top() {
  const size_t base = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= base) fail("the stack is empty (expected a value)");
  return stack_.back();
}

Value* Unpickler::pop() {
  Value* v = top();
  stack_.pop_back();
  return v;
}

std::vector<Value*> Unpickler::pop_mark() {
  if (marks_.empty()) fail("no MARK to collect the values from");
  const size_t base = marks_.back();
  marks_.pop_back();
  std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
  stack_.resize(base);
  return items;
}

void Unpickler::memo_put(uint64_t index) {
  Value* v = top();
  if (memo_.size() >= limits_.max_memo && memo_.find(index) == memo_.end())
    fail("the memo holds more than " + std::to_string(limits_.max_memo) + " entries (limit)");
  memo_[index] = v;
}

Value* Unpickler::memo_get(uint64_t index) {
  const auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
  return it->second;
}

void Unpickler::check_depth(Value* container, const Value* child) {
  if (child->depth + 1 > container->depth) container->depth = child->depth + 1;
  if (container->depth > limits_.max_depth)
    fail("containers are nested more than " + std::to_string(limits_.max_depth) + " levels deep (limit)");
}

void Unpickler::add_item(Value* container, Value* item) {
  if (!(container->is(Kind::list) || container->is(Kind::set) || container->is(Kind::object)))
    fail(std::string("expected a list (or set) below the items, got ") + kind_name(container->kind));
  check_depth(container, item);
  count_items(1);
  container->items.push_back(item);
}

void Unpickler::set_item(Value* container, Value* key, Value* value) {
  if (!(container->is(Kind::dict) || container->is(Kind::object)))
    fail(std::string("expected a dict below the key/value pairs, got ") + kind_name(container->kind));
  check_depth(container, key);
  check_depth(container, value);
  count_items(1);
  std::string k;
  if (hash_key(key, k)) {
    if (!container->index_) container->index_ = std::make_unique<std::unordered_map<std::string, size_t>>();
    const auto [it, inserted] = container->index_->emplace(std::move(k), container->entries.size());
    if (!inserted) {
      container->entries[it->second].second = value;
      return;
    }
  }
  container->entries.emplace_back(key, value);
}

Value* Unpickler::make_int_from_le(const uint8_t* p, size_t n) {
  Value* v = make(Kind::integer);
  if (n == 0) return v;
  const bool negative = (p[n - 1] & 0x80) != 0;
  // Fits in int64 when every byte above the eighth is pure sign extension.
  bool fits = true;
  for (size_t i = 8; i < n; ++i)
    if (p[i] != (negative ? 0xFF : 0x00)) fits = false;
  if (n > 8 && ((p[7] & 0x80) != 0) != negative) fits = false;
  if (fits) {
    uint64_t u = negative ? ~uint64_t{0} : 0;
    for (size_t i = std::min<size_t>(n, 8); i-- > 0;) u = (u << 8) | p[i];
    if (n < 8 && negative) u |= ~uint64_t{0} << (8 * n);
    v->integer = static_cast<int64_t>(u);
    return v;
  }
  v->kind = Kind::big_integer;
  // Decimal digits only for sizes a real checkpoint uses: the conversion is quadratic.
  if (n > 64) {
    v->text = std::string(negative ? "-" : "") + "<" + std::to_string(8 * n) + "-bit integer>";
    return v;
  }
  std::vector<uint32_t> mag(p, p + n);  // base-256 digits, little-endian, of |value|
  if (negative) {                       // two's complement negation
    uint32_t carry = 1;
    for (auto& d : mag) {
      d = (~d & 0xFF) + carry;
      carry = d >> 8;
      d &= 0xFF;
    }
  }
  std::string digits;
  while (std::any_of(mag.begin(), mag.end(), [](uint32_t d) { return d != 0; })) {
    uint32_t rem = 0;
    for (size_t i = mag.size(); i-- > 0;) {
      const uint32_t cur = (rem << 8) | mag[i];
      mag[i] = cur / 10;
      rem = cur % 10;
    }
    digits += static_cast<char>('0' + rem);
  }
  if (negative) digits += '-';
  std::reverse(digits.begin(), digits.end());
  v->text = digits;
  return v;
}

Value* Unpickler::make_int_from_text(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  std::string s = text.substr(i);
  if (!s.empty() && s.back() == 'L') s.pop_back();
  const bool negative = !s.empty() && s[0] == '-';
  const size_t start = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (start == s.size() || !std::all_of(s.begin() + static_cast<std::ptrdiff_t>(start), s.end(),
                                        [](char c) { return c >= '0' && c <= '9'; }))
    fail("\"" + text.substr(0, 40) + "\" is not an integer");
  std::string digits = s.substr(start);
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  Value* v = make(Kind::integer);
  if (digits.size() <= 18) {
    v->integer = std::stoll(digits) * (negative ? -1 : 1);
  } else {
    v->kind = Kind::big_integer;
    v->text = (negative ? "-" : "") + digits;
  }
  return v;
}

Value* Unpickler::builtin_call(const Value& callable, Value* args) {
  const std::string q = callable.qualified();
  const Value* a0 = tuple_item(args, 0);
  if (is_any(q, {"collections.OrderedDict", "collections.defaultdict", "builtins.dict", "__builtin__.dict"})) {
    Value* d = make(Kind::dict);
    // OrderedDict([(k, v), ...]) and defaultdict(factory, {k: v}) carry their items in the arguments.
    const Value* items = q == "collections.defaultdict" ? tuple_item(args, 1) : a0;
    if (items && items->is(Kind::dict)) {
      for (const auto& [k, v] : items->entries) set_item(d, k, v);
    } else if (items && (items->is(Kind::list) || items->is(Kind::tuple))) {
      for (Value* pair : items->items)
        if ((pair->is(Kind::list) || pair->is(Kind::tuple)) && pair->items.size() == 2)
          set_item(d, pair->items[0], pair->items[1]);
    }
    return d;
  }
  if (is_any(q, {"builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset"})) {
    Value* s = make(Kind::set);
    if (a0 && (a0->is(Kind::list) || a0->is(Kind::tuple) || a0->is(Kind::set)))
      for (Value* item : a0->items) add_item(s, item);
    return s;
  }
  if (is_any(q, {"builtins.bytes", "__builtin__.bytes", "builtins.bytearray", "__builtin__.bytearray",
                 "_codecs.encode"})) {
    // Protocol 2 has no bytes opcode: Python 3 writes _codecs.encode(text, "latin1") instead.
    Value* b = make(Kind::bytes);
    if (!a0) return q == "_codecs.encode" ? nullptr : b;
    if (a0->is(Kind::bytes)) {
      b->text = a0->text;
      return b;
    }
    if (a0->is(Kind::string)) {
      const Value* enc = tuple_item(args, 1);
      const std::string e = enc && enc->is(Kind::string) ? enc->text : "";
      if (e == "latin1" || e == "latin-1" || e == "iso-8859-1") return latin1_encode(a0->text, b->text) ? b : nullptr;
      if (e == "utf-8" || e == "utf8" || e == "ascii") {
        b->text = a0->text;
        return b;
      }
      return nullptr;
    }
    if (a0->is(Kind::list) && q != "_codecs.encode") {
      for (const Value* item : a0->items) {
        if (!item->is(Kind::integer) || item->integer < 0 || item->integer > 255) return nullptr;
        b->text += static_cast<char>(item->integer);
      }
      return b;
    }
    return nullptr;
  }
  if (is_any(q, {"copyreg._reconstructor", "copy_reg._reconstructor"}) && a0 && a0->is(Kind::global)) {
    Value* o = make(Kind::object);
    o->text = a0->qualified();
    o->args = args;
    return o;
  }
  return nullptr;
}

// REDUCE, NEWOBJ, INST and OBJ alike: cls.__new__(cls, *args) and cls(*args) are the same to an
// opaque class.
Value* Unpickler::call(Value* callable, Value* args) {
  if (callable->is(Kind::global)) {
    if (Value* v = builtin_call(*callable, args)) return v;
    if (hooks_)
      if (Value* v = hooks_->call(*this, *callable, args)) return v;
  }
  Value* o = make(Kind::object);
  o->args = args;
  check_depth(o, args);
  if (callable->is(Kind::global)) {
    o->text = callable->qualified();
    // numpy scalars and arrays are calls of helper functions: name them by what they make.
    const std::string& n = callable->name;
    const bool numpy = callable->text.rfind("numpy", 0) == 0;
    if (numpy && n == "scalar") {
      o->text = "numpy scalar";
      const Value* dtype = tuple_item(args, 0);
      const Value* code = dtype && dtype->is(Kind::object) ? tuple_item(dtype->args, 0) : nullptr;
      if (code && code->is(Kind::string)) {
        static const std::pair<const char*, const char*> kCodes[] = {
            {"f8", "float64"}, {"f4", "float32"}, {"f2", "float16"},   {"i8", "int64"},      {"i4", "int32"},
            {"i2", "int16"},   {"i1", "int8"},    {"u8", "uint64"},    {"u4", "uint32"},     {"u2", "uint16"},
            {"u1", "uint8"},   {"b1", "bool"},    {"c8", "complex64"}, {"c16", "complex128"}};
        o->text = "numpy." + code->text;
        for (const auto& [c, name] : kCodes)
          if (code->text == c) o->text = std::string("numpy.") + name;
      }
    } else if (numpy && n == "_reconstruct") {
      o->text = "numpy.ndarray";
    }
  } else if (callable->is(Kind::object)) {
    o->text = callable->text;
  } else {
    o->text = std::string("result of calling a ") + kind_name(callable->kind);
  }
  return o;
}

void Unpickler::build(Value* target, Value* state) {
  // Python calls __setstate__ or updates __dict__; we keep the state of opaque objects for
  // descriptions and ignore it elsewhere (an OrderedDict's _metadata attribute, tensor state).
  if (target->is(Kind::object)) {
    check_depth(target, state);
    target->state = state;
  }
}

Value* Unpickler::load() {
  stack_.clear();
  marks_.clear();
  memo_.clear();
  op_ = 0;
  op_pos_ = pos_;
  run();
  Value* result = top();
  return result;
}

void Unpickler::run() {
  for (;;) {
    op_pos_ = pos_;
    op_ = 0;
    if (pos_ >= size_)
      throw Error(source_ + ": the pickle ends at offset " + std::to_string(pos_) +
                  " without its STOP opcode (truncated file?)");
    op_ = byte();
    switch (op_) {
      case '.':
        return;  // STOP
      case '(':
        if (marks_.size() >= limits_.max_marks)
          fail("more than " + std::to_string(limits_.max_marks) + " open MARKs (limit)");
        marks_.push_back(stack_.size());
        break;
      case '0': {  // POP: an empty stack above a mark drops the mark, as in Python
        const size_t base = marks_.empty() ? 0 : marks_.back();
        if (stack_.size() > base)
          stack_.pop_back();
        else if (!marks_.empty())
          marks_.pop_back();
        else
          fail("the stack is empty (expected a value)");
        break;
      }
      case '1':
        pop_mark();
        break;
      case '2':
        push(top());
        break;

      // Numbers.
      case 'N':
        push(shared(Kind::none));
        break;
      case 0x88:
      case 0x89:
        push(shared(Kind::boolean, op_ == 0x88));
        break;
      case 'I': {
        const std::string s = line();
        if (s == "00" || s == "01") {
          push(shared(Kind::boolean, s == "01"));
        } else {
          push(make_int_from_text(s));
        }
        break;
      }
      case 'L':
        push(make_int_from_text(line()));
        break;
      case 'J': {
        Value* v = make(Kind::integer);
        v->integer = static_cast<int32_t>(static_cast<uint32_t>(le(4)));
        push(v);
        break;
      }
      case 'K':
      case 'M':
        push(make_small_int(static_cast<int64_t>(le(op_ == 'K' ? 1 : 2))));
        break;
      case 0x8a:
      case 0x8b: {
        uint64_t n = op_ == 0x8a ? le(1) : le(4);
        if (op_ == 0x8b && static_cast<int32_t>(n) < 0)
          fail("negative byte count " + std::to_string(static_cast<int32_t>(n)));
        const uint8_t* p = take(n);
        push(make_int_from_le(p, static_cast<size_t>(n)));
        break;
      }
      case 'F': {
        const std::string s = line();
        char* end = nullptr;
        Value* v = make(Kind::floating);
        v->floating = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) fail("\"" + s.substr(0, 40) + "\" is not a float");
        push(v);
        break;
      }
      case 'G': {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        Value* v = make(Kind::floating);
        std::memcpy(&v->floating, &bits, 8);
        push(v);
        break;
      }

      // Strings and bytes.
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'B':
      case 'C':
      case 0x8e:
      case 0x96:
      case 'T':
      case 'U': {
        uint64_t n = 0;
        if (op_ == 0x8c || op_ == 'C' || op_ == 'U')
          n = le(1);
        else if (op_ == 'X' || op_ == 'B')
          n = le(4);
        else if (op_ == 'T') {
          n = le(4);
          if (static_cast<int32_t>(n) < 0) fail("negative string length " + std::to_string(static_cast<int32_t>(n)));
        } else
          n = le(8);
        const uint8_t* p = take(n);
        const bool is_bytes = op_ == 'B' || op_ == 'C' || op_ == 0x8e || op_ == 0x96;
        Value* v = make(is_bytes ? Kind::bytes : Kind::string);
        v->text.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
        push(v);
        break;
      }
      case 'S': {  // protocol 0 string: a quoted Python literal
        const std::string s = line();
        if (s.size() < 2 || (s[0] != '\'' && s[0] != '"') || s.back() != s[0]) fail("string argument is not quoted");
        Value* v = make(Kind::string);
        for (size_t i = 1; i + 1 < s.size(); ++i) {
          if (s[i] != '\\' || i + 2 >= s.size()) {
            v->text += s[i];
            continue;
          }
          const char c = s[++i];
          switch (c) {
            case 'n':
              v->text += '\n';
              break;
            case 't':
              v->text += '\t';
              break;
            case 'r':
              v->text += '\r';
              break;
            case 'x': {
              const int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1,
                        lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
              if (hi < 0 || lo < 0) fail("bad \\x escape in a string argument");
              v->text += static_cast<char>(hi * 16 + lo);
              i += 2;
              break;
            }
            default:
              if (c >= '0' && c <= '7') {
                int value = c - '0';
                for (int k = 0; k < 2 && i + 2 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k)
                  value = value * 8 + (s[++i] - '0');
                v->text += static_cast<char>(value & 0xFF);
              } else {
                v->text += c;  // \\ \' \" and unknown escapes
              }
          }
        }
        push(v);
        break;
      }
      case 'V': {  // protocol 0 unicode: raw-unicode-escape (latin-1 bytes and \uXXXX)
        const std::string s = line();
        Value* v = make(Kind::string);
        for (size_t i = 0; i < s.size(); ++i) {
          const int width = (s[i] == '\\' && i + 1 < s.size()) ? (s[i + 1] == 'u' ? 4 : s[i + 1] == 'U' ? 8 : 0) : 0;
          if (width == 0) {
            append_utf8(v->text, static_cast<uint8_t>(s[i]));
            continue;
          }
          if (i + 2 + width > s.size()) fail("truncated \\u escape in a unicode argument");
          uint32_t cp = 0;
          for (int k = 0; k < width; ++k) {
            const int d = hex_digit(s[i + 2 + k]);
            if (d < 0) fail("bad \\u escape in a unicode argument");
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          if (cp > 0x10FFFF) fail("\\U escape beyond U+10FFFF in a unicode argument");
          append_utf8(v->text, cp);
          i += 1 + width;
        }
        push(v);
        break;
      }

      // Containers.
      case ')':
        push(shared(Kind::tuple));
        break;
      case 0x85:
      case 0x86:
      case 0x87:
      case 't': {
        std::vector<Value*> items;
        if (op_ == 't') {
          items = pop_mark();
        } else {
          const int n = op_ - 0x84;
          items.resize(n);
          for (int k = n - 1; k >= 0; --k) items[k] = pop();
        }
        Value* v = make(Kind::tuple);
        for (Value* item : items) check_depth(v, item);
        count_items(items.size());
        v->items = std::move(items);
        push(v);
        break;
      }
      case ']':
        push(make(Kind::list));
        break;
      case 'l': {
        Value* v = make(Kind::list);
        for (Value* item : pop_mark()) add_item(v, item);
        push(v);
        break;
      }
      case 'a': {
        Value* item = pop();
        add_item(top(), item);
        break;
      }
      case 'e': {
        auto items = pop_mark();
        Value* target = top();
        for (Value* item : items) add_item(target, item);
        break;
      }
      case '}':
        push(make(Kind::dict));
        break;
      case 'd': {
        auto items = pop_mark();
        if (items.size() % 2) fail("odd number of values (" + std::to_string(items.size()) + ") for key/value pairs");
        Value* v = make(Kind::dict);
        for (size_t k = 0; k < items.size(); k += 2) set_item(v, items[k], items[k + 1]);
        push(v);
        break;
      }
      case 's': {
        Value* value = pop();
        Value* key = pop();
        set_item(top(), key, value);
        break;
      }
      case 'u': {
        auto items = pop_mark();
        if (items.size() % 2) fail("odd number of values (" + std::to_string(items.size()) + ") for key/value pairs");
        Value* target = top();
        for (size_t k = 0; k < items.size(); k += 2) set_item(target, items[k], items[k + 1]);
        break;
      }
      case 0x8f:
        push(make(Kind::set));
        break;
      case 0x90: {
        auto items = pop_mark();
        Value* target = top();
        if (!target->is(Kind::set) && !target->is(Kind::object))
          fail(std::string("expected a set below the items, got ") + kind_name(target->kind));
        for (Value* item : items) add_item(target, item);
        break;
      }
      case 0x91: {
        Value* v = make(Kind::set);
        for (Value* item : pop_mark()) add_item(v, item);
        push(v);
        break;
      }

      // Memo.
      case 'p': {
        Value* index = make_int_from_text(line());
        if (!index->is(Kind::integer) || index->integer < 0) fail("bad memo index");
        memo_put(static_cast<uint64_t>(index->integer));
        break;
      }
      case 'q':
        memo_put(le(1));
        break;
      case 'r':
        memo_put(le(4));
        break;
      case 0x94:
        memo_put(memo_.size());
        break;
      case 'g': {
        Value* index = make_int_from_text(line());
        if (!index->is(Kind::integer) || index->integer < 0) fail("bad memo index");
        push(memo_get(static_cast<uint64_t>(index->integer)));
        break;
      }
      case 'h':
        push(memo_get(le(1)));
        break;
      case 'j':
        push(memo_get(le(4)));
        break;

      // Names and calls: nothing is imported or run.
      case 'c': {
        Value* v = make(Kind::global);
        v->text = line();
        v->name = line();
        push(v);
        break;
      }
      case 0x93: {
        Value* name = pop();
        Value* module = pop();
        if (!module->is(Kind::string) || !name->is(Kind::string)) fail("module and name must be strings");
        Value* v = make(Kind::global);
        v->text = module->text;
        v->name = name->text;
        push(v);
        break;
      }
      case 'R':
      case 0x81: {
        Value* args = pop();
        Value* callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x92: {
        pop();  // keyword arguments
        Value* args = pop();
        Value* cls = pop();
        push(call(cls, args));
        break;
      }
      case 'i': {
        Value* cls = make(Kind::global);
        cls->text = line();
        cls->name = line();
        Value* args = make(Kind::tuple);
        for (Value* item : pop_mark()) {
          check_depth(args, item);
          count_items(1);
          args->items.push_back(item);
        }
        push(call(cls, args));
        break;
      }
      case 'o': {
        auto items = pop_mark();
        if (items.empty()) fail("no class to instantiate");
        Value* args = make(Kind::tuple);
        for (size_t k = 1; k < items.size(); ++k) {
          check_depth(args, items[k]);
          count_items(1);
          args->items.push_back(items[k]);
        }
        push(call(items[0], args));
        break;
      }
      case 'b': {
        Value* state = pop();
        build(top(), state);
        break;
      }
      case 'P':
      case 'Q': {
        Value* pid;
        if (op_ == 'P') {
          pid = make(Kind::string);
          pid->text = line();
        } else {
          pid = pop();
        }
        if (!hooks_) fail("persistent id outside a torch file");
        push(hooks_->persistent_load(*this, pid));
        break;
      }

      // Framing and protocol.
      case 0x80: {
        const uint8_t version = byte();
        if (version > 5) fail("unsupported pickle protocol " + std::to_string(version) + " (expected 0 to 5)");
        break;
      }
      case 0x95: {
        const uint64_t n = le(8);
        if (n > size_ - pos_)
          fail("frame of " + std::to_string(n) + " bytes runs past the end of the pickle (" +
               std::to_string(size_ - pos_) + " bytes left; truncated file?)");
        break;
      }
      case 0x98:
        top();
        break;  // READONLY_BUFFER: no-op on the value
      case 0x97:
        fail("out-of-band buffers (pickle protocol 5 NEXT_BUFFER) cannot appear in a file");
      case 0x82:
      case 0x83:
      case 0x84:
        fail("the copyreg extension registry is not supported (no checkpoint uses it)");
      default: {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02x", op_);
        fail(std::string("unknown opcode ") + code + " (not a pickle, or a corrupt one)");
      }
    }
  }
}

}  // namespace swinsmt::ckpt
