#include "torch_objects.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace swinsmt::ckpt {
namespace {

// A tensor may repeat its storage's elements (stride 0) and so be larger than the storage; beyond
// this size such an expansion is refused, so a few bytes of file cannot demand gigabytes.
constexpr uint64_t kMaxExpansionBytes = uint64_t{64} << 20;
constexpr size_t kMaxDims = 64;
constexpr int kMaxRebuildNesting = 32;

struct NamedType {
  const char* name;
  at::ScalarType type;
};

// Storage classes (torch.FloatStorage, ...) and dtypes (torch.float32, ...) as pickles name them.
constexpr NamedType kStorageTypes[] = {
    {"FloatStorage", at::kFloat},
    {"DoubleStorage", at::kDouble},
    {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16},
    {"LongStorage", at::kLong},
    {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},
    {"CharStorage", at::kChar},
    {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},
    {"ComplexFloatStorage", at::kComplexFloat},
    {"ComplexDoubleStorage", at::kComplexDouble},
    // Untyped storages hold bytes; _rebuild_tensor_v3 gives the element type.
    {"UntypedStorage", at::kByte},
    {"_UntypedStorage", at::kByte},
};
constexpr NamedType kDtypes[] = {
    {"float32", at::kFloat},
    {"float", at::kFloat},
    {"float64", at::kDouble},
    {"double", at::kDouble},
    {"float16", at::kHalf},
    {"half", at::kHalf},
    {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},
    {"long", at::kLong},
    {"int32", at::kInt},
    {"int", at::kInt},
    {"int16", at::kShort},
    {"short", at::kShort},
    {"int8", at::kChar},
    {"uint8", at::kByte},
    {"bool", at::kBool},
    {"complex64", at::kComplexFloat},
    {"cfloat", at::kComplexFloat},
    {"complex128", at::kComplexDouble},
    {"cdouble", at::kComplexDouble},
};

bool is_torch_module(const std::string& module) { return module == "torch" || module.rfind("torch.", 0) == 0; }

const Value* item(const Value* tuple, size_t i) {
  if (!tuple || !(tuple->is(Kind::tuple) || tuple->is(Kind::list)) || tuple->items.size() <= i) return nullptr;
  return tuple->items[i];
}

std::string shape_text(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Reverses the bytes of every `unit`-byte number (complex numbers swap their two halves separately).
void swap_bytes_inplace(uint8_t* p, uint64_t nbytes, size_t unit) {
  if (unit < 2) return;
  for (uint64_t i = 0; i + unit <= nbytes; i += unit) std::reverse(p + i, p + i + unit);
}

size_t swap_unit(at::ScalarType t) {
  const size_t size = c10::elementSize(t);
  return c10::isComplexType(t) ? size / 2 : size;
}

}  // namespace

const char* dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return "float32";
    case at::kDouble:
      return "float64";
    case at::kHalf:
      return "float16";
    case at::kBFloat16:
      return "bfloat16";
    case at::kLong:
      return "int64";
    case at::kInt:
      return "int32";
    case at::kShort:
      return "int16";
    case at::kChar:
      return "int8";
    case at::kByte:
      return "uint8";
    case at::kBool:
      return "bool";
    case at::kComplexFloat:
      return "complex64";
    case at::kComplexDouble:
      return "complex128";
    default:
      return c10::toString(type);
  }
}

Value* TorchObjects::persistent_load(Unpickler& u, Value* pid) {
  const Value* kind = item(pid, 0);
  if (!pid->is(Kind::tuple) || !kind || !kind->is(Kind::string))
    u.fail("persistent id is not a ('storage', ...) tuple");
  if (kind->text == "module") {
    // Legacy torch.save of a whole model records each module's source code; nothing to load.
    Value* v = u.make(Kind::object);
    v->text = "module source code";
    return v;
  }
  if (kind->text != "storage") u.fail("persistent id of unknown kind \"" + kind->text.substr(0, 40) + "\"");
  if (pid->items.size() < 5)
    u.fail("storage persistent id has " + std::to_string(pid->items.size()) +
           " items, expected ('storage', type, key, location, numel)");
  const Value* type = pid->items[1];
  const Value* key = pid->items[2];
  const Value* location = pid->items[3];
  const Value* numel = pid->items[4];

  StorageRef ref;
  bool known = false;
  if (type->is(Kind::global) && is_torch_module(type->text)) {
    for (const auto& t : kStorageTypes)
      if (type->name == t.name) ref.dtype = t.type, known = true;
    for (const auto& t : kDtypes)
      if (type->name == t.name) ref.dtype = t.type, known = true;
  }
  if (!known)
    u.fail(
        "storage type " + (type->is(Kind::global) ? type->qualified() : std::string("(not a class name)")) +
        " is not one LibTorch can hold (float, double, half, bfloat16, long, int, short, char, byte, bool, complex)");
  if (key->is(Kind::string))
    ref.key = key->text;
  else if (key->is(Kind::integer))
    ref.key = std::to_string(key->integer);
  else
    u.fail("storage key must be a string");
  if (!location->is(Kind::string)) u.fail("storage location of \"" + ref.key + "\" must be a string like \"cpu\"");
  ref.location = location->text;
  if (!numel->is(Kind::integer) || numel->integer < 0)
    u.fail("storage \"" + ref.key + "\" must declare a non-negative element count");
  ref.numel = static_cast<uint64_t>(numel->integer);

  std::string identity = ref.key + '\n' + dtype_name(ref.dtype);
  const Value* view = pid->items.size() > 5 ? pid->items[5] : nullptr;
  if (view && !view->is(Kind::none)) {
    const Value *view_key = item(view, 0), *offset = item(view, 1), *size = item(view, 2);
    if (!view_key || !view_key->is(Kind::string) || !offset || !offset->is(Kind::integer) || offset->integer < 0 ||
        !size || !size->is(Kind::integer) || size->integer < 0)
      u.fail("storage \"" + ref.key + "\" has a view description that is not (key, offset, size)");
    ref.is_view = true;
    ref.view_offset = static_cast<uint64_t>(offset->integer);
    ref.view_numel = static_cast<uint64_t>(size->integer);
    identity += '\n' + view_key->text;
  }

  auto [it, inserted] = storage_index_.emplace(identity, storages_.size());
  if (inserted) {
    storages_.push_back(std::move(ref));
  } else if (storages_[it->second].numel != ref.numel) {
    u.fail("storage \"" + ref.key + "\" is declared with " + std::to_string(storages_[it->second].numel) +
           " and with " + std::to_string(ref.numel) + " elements");
  }
  Value* v = u.make(Kind::external);
  v->text = "storage";
  v->integer = static_cast<int64_t>(it->second);
  return v;
}

Value* TorchObjects::call(Unpickler& u, const Value& callable, Value* args) {
  const std::string q = callable.qualified();
  if (q == "torch._utils._rebuild_tensor_v2" || q == "torch._utils._rebuild_tensor" ||
      q == "torch._utils._rebuild_tensor_v3")
    return rebuild_tensor(u, callable.name, args);
  if (q == "torch._utils._rebuild_parameter" || q == "torch._utils._rebuild_parameter_with_state") {
    // nn.Parameter(data, requires_grad): the data is the tensor.
    Value* data = args && args->is(Kind::tuple) && !args->items.empty() ? args->items[0] : nullptr;
    if (!is_tensor(data)) u.fail(callable.name + " expects a tensor as its first argument");
    return data;
  }
  if (q == "torch._tensor._rebuild_from_type_v2" || q == "torch._utils._rebuild_from_type_v2" ||
      q == "torch._utils._rebuild_from_type" || q == "torch._tensor._rebuild_from_type") {
    // Tensor subclasses: func(*args), then the subclass and its state, which a plain tensor drops.
    const Value* func = item(args, 0);
    Value* inner = const_cast<Value*>(item(args, 2));
    if (!func || !func->is(Kind::global) || !inner || !inner->is(Kind::tuple)) return nullptr;
    if (++rebuild_nesting_ > kMaxRebuildNesting) u.fail("tensor rebuild functions nested too deeply");
    Value* result = call(u, *func, inner);
    --rebuild_nesting_;
    return result;
  }
  return nullptr;
}

Value* TorchObjects::rebuild_tensor(Unpickler& u, const std::string& function, Value* args) {
  const bool v3 = function == "_rebuild_tensor_v3";
  const size_t needed = v3 ? 7 : 4;
  if (!args || !args->is(Kind::tuple) || args->items.size() < needed)
    u.fail(function + " expects (storage, storage_offset, size, stride" + (v3 ? ", requires_grad, hooks, dtype" : "") +
           ", ...)");
  const Value* storage = args->items[0];
  if (!is_storage(storage)) u.fail(function + " expects a storage as its first argument");
  TensorSpec spec;
  spec.storage = static_cast<size_t>(storage->integer);
  spec.dtype = storages_[spec.storage].dtype;
  const Value* offset = args->items[1];
  if (!offset->is(Kind::integer) || offset->integer < 0)
    u.fail(function + ": storage offset must be a non-negative int");
  spec.offset = offset->integer;

  auto ints = [&](const Value* v, const char* what, std::vector<int64_t>& out) {
    // torch.Size pickles as a tuple subclass: look through it to its tuple.
    if (v->is(Kind::object) && v->text == "torch.Size" && item(v->args, 0)) v = item(v->args, 0);
    if (!(v->is(Kind::tuple) || v->is(Kind::list))) u.fail(function + ": " + what + " must be a tuple of ints");
    if (v->items.size() > kMaxDims)
      u.fail(function + ": " + what + " has " + std::to_string(v->items.size()) + " dimensions (at most " +
             std::to_string(kMaxDims) + ")");
    for (const Value* d : v->items) {
      if (!d->is(Kind::integer) || d->integer < 0)
        u.fail(function + ": " + what + " must be a tuple of non-negative ints");
      out.push_back(d->integer);
    }
  };
  ints(args->items[2], "size", spec.sizes);
  ints(args->items[3], "stride", spec.strides);
  if (spec.sizes.size() != spec.strides.size())
    u.fail(function + ": size " + shape_text(spec.sizes) + " and stride " + shape_text(spec.strides) +
           " have different lengths");
  if (v3) {
    const Value* dtype = args->items[6];
    bool known = false;
    if (dtype->is(Kind::global) && is_torch_module(dtype->text))
      for (const auto& t : kDtypes)
        if (dtype->name == t.name) spec.dtype = t.type, known = true;
    if (!known) u.fail(function + ": dtype argument is not a torch dtype LibTorch can hold");
  }
  tensors_.push_back(std::move(spec));
  Value* v = u.make(Kind::external);
  v->text = "tensor";
  v->integer = static_cast<int64_t>(tensors_.size() - 1);
  return v;
}

std::string TorchObjects::describe(const Value& v) const {
  if (is_storage(&v)) {
    const auto& s = storages_.at(static_cast<size_t>(v.integer));
    return std::string("storage ") + dtype_name(s.dtype) + " (" + std::to_string(s.is_view ? s.view_numel : s.numel) +
           " elements)";
  }
  if (is_tensor(&v)) {
    const auto& t = tensor(v);
    const auto& s = storages_.at(t.storage);
    std::string text = std::string("tensor ") + dtype_name(t.dtype) + " " + shape_text(t.sizes);
    if (s.location != "cpu") text += " (saved on " + s.location + ")";
    return text;
  }
  return "torch object";
}

at::Tensor TorchObjects::storage_tensor(size_t index, at::ScalarType dtype, const std::string& name,
                                        const ByteSource& bytes, bool swap_bytes) {
  const auto cached = cache_.find({index, static_cast<int>(dtype)});
  if (cached != cache_.end()) return cached->second;
  const StorageRef& s = storages_[index];
  const uint64_t element = c10::elementSize(s.dtype);
  const uint64_t declared = s.numel * element;  // numel was bounded by the caller
  StorageBytes b = bytes(s);
  if (b.size < declared)
    throw Error(source_ + ": storage \"" + s.key + "\" of tensor \"" + name + "\" holds " + std::to_string(b.size) +
                " bytes, but its persistent id declares " + std::to_string(s.numel) + " " + dtype_name(s.dtype) +
                " elements (" + std::to_string(declared) + " bytes)");
  uint64_t begin = 0, length = declared;
  if (s.is_view) {
    begin = s.view_offset * element;
    length = s.view_numel * element;
  }
  const uint64_t out_element = c10::elementSize(dtype);
  const int64_t count = static_cast<int64_t>(length / out_element);
  const uint8_t* p = b.data + begin;
  const auto options = at::TensorOptions().dtype(dtype);
  at::Tensor t;
  if (count == 0) {
    t = at::empty({0}, options);
  } else if (!swap_bytes && reinterpret_cast<uintptr_t>(p) % out_element == 0) {
    // Viewed in place (the clone in materialize copies only what each tensor uses); the deleter
    // keeps an inflated record alive as long as the view.
    auto keep = b.keep_alive;
    t = at::from_blob(
        const_cast<uint8_t*>(p), {count}, [keep](void*) {}, options);
  } else {
    t = at::empty({count}, options);
    std::memcpy(t.data_ptr(), p, static_cast<size_t>(count) * out_element);
    if (swap_bytes)
      swap_bytes_inplace(static_cast<uint8_t*>(t.data_ptr()), static_cast<uint64_t>(count) * out_element,
                         swap_unit(dtype));
  }
  cache_.emplace(std::make_pair(index, static_cast<int>(dtype)), t);
  return t;
}

at::Tensor TorchObjects::materialize(const Value& value, const std::string& name, const ByteSource& bytes,
                                     bool swap_bytes) {
  const TensorSpec& spec = tensor(value);
  const StorageRef& s = storages_[spec.storage];
  const std::string where = source_ + ": tensor \"" + name + "\" (" + dtype_name(spec.dtype) + ", size " +
                            shape_text(spec.sizes) + ", stride " + shape_text(spec.strides) + ", storage offset " +
                            std::to_string(spec.offset) + ")";
  const uint64_t element = c10::elementSize(s.dtype);
  if (s.numel > std::numeric_limits<uint64_t>::max() / 64 / element)
    throw Error(where + " uses storage \"" + s.key + "\" declaring " + std::to_string(s.numel) +
                " elements, more than any file can hold");
  if (s.is_view && (s.view_offset > s.numel || s.view_numel > s.numel - s.view_offset))
    throw Error(where + " uses elements [" + std::to_string(s.view_offset) + ", " +
                std::to_string(s.view_offset + s.view_numel) + ") of storage \"" + s.key + "\", which declares only " +
                std::to_string(s.numel));
  const uint64_t storage_bytes = (s.is_view ? s.view_numel : s.numel) * element;
  const uint64_t out_element = c10::elementSize(spec.dtype);
  const uint64_t capacity = storage_bytes / out_element;

  using u128 = unsigned __int128;
  u128 numel = 1, extent = static_cast<u128>(spec.offset) + 1;
  bool too_many = false;
  for (const int64_t size : spec.sizes) {
    numel *= static_cast<uint64_t>(size);
    if (numel > static_cast<u128>(std::numeric_limits<int64_t>::max())) numel = 1, too_many = true;
  }
  const bool empty = std::find(spec.sizes.begin(), spec.sizes.end(), 0) != spec.sizes.end();
  const auto options = at::TensorOptions().dtype(spec.dtype);
  if (empty) return at::empty(spec.sizes, options);
  if (too_many) throw Error(where + " declares more than 2^63 elements");
  for (size_t d = 0; d < spec.sizes.size(); ++d)
    extent += static_cast<u128>(spec.sizes[d] - 1) * static_cast<uint64_t>(spec.strides[d]);
  if (extent > capacity)
    throw Error(where + " needs " +
                (extent >> 64 ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(extent))) +
                " elements of storage \"" + s.key + "\", which declares only " + std::to_string(capacity));
  const u128 result_bytes = numel * out_element;
  if (result_bytes > storage_bytes && result_bytes > kMaxExpansionBytes)
    throw Error(where + " repeats the elements of its " + std::to_string(storage_bytes) + "-byte storage \"" + s.key +
                "\" into more than " + std::to_string(kMaxExpansionBytes >> 20) + " MiB (refused)");

  at::Tensor storage = storage_tensor(spec.storage, spec.dtype, name, bytes, swap_bytes);
  at::Tensor result = storage.as_strided(spec.sizes, spec.strides, spec.offset).clone(at::MemoryFormat::Contiguous);
  // A bool byte other than 0 or 1 is undefined behaviour in ATen's kernels: normalise it.
  if (spec.dtype == at::kBool) result = result.view(at::kByte).ne(0);
  return result;
}

}  // namespace swinsmt::ckpt
