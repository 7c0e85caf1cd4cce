#include "state_dict_discovery.hpp"

#include <swinsmt/error.hpp>

#include <cstdio>

namespace swinsmt::ckpt {
namespace {

constexpr size_t kMaxListedKeys = 6;
constexpr size_t kMaxText = 60;

bool dict_like(const Value* v) { return v && (v->is(Kind::dict) || (v->is(Kind::object) && !v->entries.empty())); }

bool holds_tensor(const Value* v, const TorchObjects& objects) {
  if (!v) return false;
  for (const Value* item : v->items)
    if (objects.is_tensor(item)) return true;
  for (const auto& [k, value] : v->entries)
    if (objects.is_tensor(value)) return true;
  return false;
}

// A state dict maps names to tensors and holds no nested tensors (which a wrapper would).
bool is_state_dict(const Value* v, const TorchObjects& objects) {
  if (!dict_like(v)) return false;
  size_t tensors = 0;
  for (const auto& [k, value] : v->entries) {
    if (objects.is_tensor(value)) {
      if (!k->is(Kind::string)) return false;
      ++tensors;
    } else if (holds_tensor(value, objects)) {
      return false;
    }
  }
  return tensors > 0;
}

std::string key_text(const Value* k, const TorchObjects& objects) {
  return k->is(Kind::string) ? k->text : describe_value(*k, objects);
}

std::string clipped(const std::string& s) { return s.size() <= kMaxText ? s : s.substr(0, kMaxText) + "..."; }

std::string number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", d);
  return buf;
}

// Python-like short form of a scalar or a short list of scalars; "" if the value is not that simple.
std::string short_form(const Value& v, int depth = 0) {
  switch (v.kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return v.boolean ? "True" : "False";
    case Kind::integer:
      return std::to_string(v.integer);
    case Kind::big_integer:
      return v.text;
    case Kind::floating:
      return number(v.floating);
    case Kind::string:
      return "'" + clipped(v.text) + "'";
    case Kind::list:
    case Kind::tuple: {
      if (depth > 0 || v.items.size() > 8) return "";
      std::string s = v.is(Kind::list) ? "[" : "(";
      for (size_t i = 0; i < v.items.size(); ++i) {
        const std::string item = short_form(*v.items[i], depth + 1);
        if (item.empty()) return "";
        s += (i ? ", " : "") + item;
      }
      return s + (v.is(Kind::list) ? "]" : ")");
    }
    default:
      return "";
  }
}

std::string describe_entries_of(const Value& v, const TorchObjects& objects) {
  const size_t n = v.entries.size();
  std::string s = std::to_string(n) + (n == 1 ? " key" : " keys");
  if (n == 0) return s;
  // Small dicts of plain values (hyper-parameters) are shown whole, others by their keys.
  bool plain = n <= kMaxListedKeys;
  std::string whole;
  for (size_t i = 0; plain && i < n; ++i) {
    const std::string value = short_form(*v.entries[i].second);
    if (value.empty() || !v.entries[i].first->is(Kind::string))
      plain = false;
    else
      whole += (i ? ", " : "") + v.entries[i].first->text + "=" + value;
  }
  if (plain) return s + ": " + whole;
  s += ": ";
  for (size_t i = 0; i < n && i < kMaxListedKeys; ++i)
    s += (i ? ", " : "") + clipped(key_text(v.entries[i].first, objects));
  if (n > kMaxListedKeys) s += ", ...";
  return s;
}

}  // namespace

std::string describe_value(const Value& v, const TorchObjects& objects) {
  switch (v.kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return std::string("bool ") + (v.boolean ? "True" : "False");
    case Kind::integer:
      return "int " + std::to_string(v.integer);
    case Kind::big_integer:
      return "int " + v.text;
    case Kind::floating:
      return "float " + number(v.floating);
    case Kind::string:
      return "str '" + clipped(v.text) + "'";
    case Kind::bytes:
      return "bytes (" + std::to_string(v.text.size()) + ")";
    case Kind::list:
    case Kind::tuple:
    case Kind::set: {
      const char* name = v.is(Kind::list) ? "list" : v.is(Kind::tuple) ? "tuple" : "set";
      const std::string s = short_form(v);
      if (!s.empty() && !v.is(Kind::set)) return std::string(name) + " " + s;
      return std::string(name) + " (" + std::to_string(v.items.size()) + (v.items.size() == 1 ? " item)" : " items)");
    }
    case Kind::dict:
      return "dict (" + describe_entries_of(v, objects) + ")";
    case Kind::global:
      return "global " + v.qualified();
    case Kind::object:
      if (!v.entries.empty()) return v.text + " (opaque dict, " + describe_entries_of(v, objects) + ")";
      return v.text + " (opaque)";
    case Kind::external:
      return objects.describe(v);
  }
  return "value";
}

FoundStateDict find_state_dict(const Value* root, const TorchObjects& objects, const std::string& source) {
  if (is_state_dict(root, objects)) return {root, ""};
  if (dict_like(root)) {
    for (const char* key : kStateDictKeys)
      if (const Value* v = root->get(key); is_state_dict(v, objects)) return {v, key};
    for (const char* outer : kStateDictKeys) {
      const Value* v = root->get(outer);
      if (!dict_like(v)) continue;
      for (const char* key : kStateDictKeys)
        if (const Value* inner = v->get(key); is_state_dict(inner, objects))
          return {inner, std::string(outer) + "." + key};
    }
  }
  std::string what = describe_value(*root, objects);
  // torch.save(model) pickles the module object itself; its weights sit in nested __dict__ states.
  const bool whole_module = root->is(Kind::object) && dict_like(root->state) && root->state->get("_modules");
  throw Error(
      source + ": no state dict found: the file holds " + what +
      ", and neither it nor its \"state_dict\", \"model\", \"model_state_dict\", \"module\", \"net\" or "
      "\"network\" entry is a map of names to tensors" +
      (whole_module ? " (it is a whole pickled nn.Module: save model.state_dict() with torch.save instead)" : ""));
}

std::string strip_wrapper_prefixes(std::vector<std::string>& names) {
  std::string stripped;
  if (names.empty()) return stripped;
  for (bool again = true; again;) {
    again = false;
    for (const char* prefix : kWrapperPrefixes) {
      const std::string p = prefix;
      bool all = true;
      for (const auto& n : names)
        if (n.size() <= p.size() || n.compare(0, p.size(), p) != 0) all = false;
      if (!all) continue;
      for (auto& n : names) n.erase(0, p.size());
      stripped += p;
      again = true;
    }
  }
  return stripped;
}

std::vector<std::pair<std::string, std::string>> describe_entries(const Value* root, const FoundStateDict& found,
                                                                  const TorchObjects& objects) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string head = found.location.substr(0, found.location.find('.'));
  if (dict_like(root) && root != found.dict) {
    for (const auto& [k, v] : root->entries) {
      const std::string key = key_text(k, objects);
      if (k->is(Kind::string) && key == head) continue;
      out.emplace_back(key, describe_value(*v, objects));
    }
  }
  // What the state dict held besides tensors (an OrderedDict's _metadata copied as an entry, ...).
  size_t skipped = 0;
  for (const auto& [k, v] : found.dict->entries) {
    if (objects.is_tensor(v)) continue;
    if (++skipped > kMaxListedKeys) continue;
    const std::string key = key_text(k, objects);
    out.emplace_back(found.location.empty() ? key : found.location + "." + key,
                     describe_value(*v, objects) + " (skipped: not a tensor)");
  }
  if (skipped > kMaxListedKeys)
    out.emplace_back(found.location.empty() ? "..." : found.location + "...",
                     std::to_string(skipped - kMaxListedKeys) + " more non-tensor entries skipped");
  return out;
}

}  // namespace swinsmt::ckpt
