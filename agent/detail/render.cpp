#include "agent/detail/render.hpp"

#include <charconv>

namespace fc::agent {
namespace {

using Chain = std::vector<const Scope*>;

const std::string* lookup_var(const Chain& chain, const std::string& name) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    auto f = (*it)->vars.find(name);
    if (f != (*it)->vars.end()) return &f->second;
  }
  return nullptr;
}

const std::vector<Scope>* lookup_list(const Chain& chain, const std::string& name) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    auto f = (*it)->lists.find(name);
    if (f != (*it)->lists.end()) return &f->second;
  }
  return nullptr;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

bool valid_var_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.';
    if (!okc) return false;
  }
  return true;
}

// A whole-string `{{var|int}}` becomes an integer.
Result<std::optional<json>> render_int(const std::string& s, const Chain& chain) {
  if (s.size() < 4 || s.rfind("{{", 0) != 0 || s.substr(s.size() - 2) != "}}") {
    return std::optional<json>{};
  }
  std::string inner = s.substr(2, s.size() - 4);
  auto bar = inner.find('|');
  if (bar == std::string::npos || trim(inner.substr(bar + 1)) != "int")
    return std::optional<json>{};
  std::string name = trim(inner.substr(0, bar));
  const std::string* v = lookup_var(chain, name);
  if (v == nullptr) return make_error(Code::kInvalidArgument, "unknown variable '" + name + "'");
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return make_error(Code::kInvalidArgument, "variable '" + name + "' is not an integer");
  }
  return std::optional<json>(json(n));
}

Result<std::string> render_string(const std::string& s, const Chain& chain) {
  std::string out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto open = s.find("{{", pos);
    if (open == std::string::npos) break;
    auto close = s.find("}}", open + 2);
    if (close == std::string::npos) {
      return make_error(Code::kInvalidArgument, "unterminated '{{' in \"" + s + "\"");
    }
    out.append(s, pos, open - pos);
    std::string name = trim(std::string_view(s).substr(open + 2, close - open - 2));
    if (!valid_var_name(name)) {
      return make_error(Code::kInvalidArgument, "bad placeholder '{{" + name + "}}'");
    }
    const std::string* v = lookup_var(chain, name);
    if (v == nullptr) return make_error(Code::kInvalidArgument, "unknown variable '" + name + "'");
    out += *v;
    pos = close + 2;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

Result<json> render_node(const json& node, Chain& chain);

// {"$merge": "VAR"} in an object: VAR holds a JSON object of string values
// (empty: none) whose members are added as literal strings (not expanded);
// the template's own members win, so a variable cannot replace, say, the
// generation annotation the observer reads.
Status render_merge(const json& name, const Chain& chain, json& out) {
  if (!name.is_string()) return make_error(Code::kInvalidArgument, "$merge needs a variable name");
  const std::string* v = lookup_var(chain, name.get<std::string>());
  if (v == nullptr)
    return make_error(Code::kInvalidArgument, "unknown variable '" + name.get<std::string>() + "'");
  if (trim(*v).empty()) return ok();
  auto bad = [&name]() {
    return make_error(Code::kInvalidArgument, "variable '" + name.get<std::string>() +
                                                  "' must be a JSON object of strings ($merge)");
  };
  json m = json::parse(*v, nullptr, false);
  if (m.is_discarded() || !m.is_object()) return bad();
  for (const auto& [k, val] : m.items()) {
    if (!val.is_string()) return bad();
    if (!out.contains(k)) out[k] = val;
  }
  return ok();
}

// An object: members rendered, "$merge" applied last. A member that is an
// object made only of "$merge" and renders empty is left out (annotations
// with nothing to add do not appear at all).
Result<json> render_object(const json& node, Chain& chain) {
  json out = json::object();
  for (const auto& [k, v] : node.items()) {
    if (k == "$merge") continue;
    BOOST_OUTCOME_TRY(r, render_node(v, chain));
    bool merge_only = v.is_object() && v.size() == 1 && v.contains("$merge");
    if (merge_only && r.empty()) continue;
    out[k] = std::move(r);
  }
  if (!node.contains("$merge")) return out;
  BOOST_OUTCOME_TRY(render_merge(node["$merge"], chain, out));
  return out;
}

Status render_array(const json& node, Chain& chain, json& out) {
  out = json::array();
  for (const auto& e : node) {
    if (!(e.is_object() && e.contains("$each"))) {
      BOOST_OUTCOME_TRY(v, render_node(e, chain));
      out.push_back(std::move(v));
      continue;
    }
    const json& list_name = e["$each"];
    if (!list_name.is_string() || !e.contains("item")) {
      return make_error(Code::kInvalidArgument, "$each needs a list name and an item");
    }
    const auto* list = lookup_list(chain, list_name.get<std::string>());
    if (list == nullptr) {
      return make_error(Code::kInvalidArgument,
                        "unknown list '" + list_name.get<std::string>() + "'");
    }
    for (const Scope& s : *list) {
      chain.push_back(&s);
      auto v = render_node(e["item"], chain);
      chain.pop_back();
      if (!v) return v.error();
      out.push_back(std::move(v).value());
    }
  }
  return ok();
}

Result<json> render_node(const json& node, Chain& chain) {
  if (node.is_string()) {
    const auto& s = node.get_ref<const std::string&>();
    BOOST_OUTCOME_TRY(as_int, render_int(s, chain));
    if (as_int) return *as_int;
    BOOST_OUTCOME_TRY(str, render_string(s, chain));
    return json(std::move(str));
  }
  if (node.is_array()) {
    json out;
    BOOST_OUTCOME_TRY(render_array(node, chain, out));
    return out;
  }
  if (node.is_object()) return render_object(node, chain);
  return node;  // numbers, booleans, null: unchanged
}

// RFC 1123 subdomain (names) — also keeps file names under --out safe.
bool valid_object_name(const std::string& n) {
  if (n.empty() || n.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n.front()) || !alnum(n.back())) return false;
  for (char c : n) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

bool valid_kind(const std::string& k) {
  if (k.empty() || k.size() > 63) return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Result<ObjectRef> object_ref(json& obj, const std::string& default_ns) {
  if (!obj.is_object()) return make_error(Code::kInvalidArgument, "object is not a JSON object");
  auto str = [&](const json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return (it != o.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  ObjectRef r{str(obj, "apiVersion"), str(obj, "kind"), "", ""};
  if (r.api_version.empty() || !valid_kind(r.kind)) {
    return make_error(Code::kInvalidArgument, "object needs apiVersion and a valid kind");
  }
  json& meta = obj["metadata"];
  if (!meta.is_object()) return make_error(Code::kInvalidArgument, r.kind + ": metadata missing");
  r.name = str(meta, "name");
  if (!meta.contains("namespace")) meta["namespace"] = default_ns;
  r.name_space = str(meta, "namespace");
  if (!valid_object_name(r.name) || !valid_object_name(r.name_space)) {
    return make_error(Code::kInvalidArgument,
                      r.kind + ": invalid name or namespace '" + r.name_space + "/" + r.name + "'");
  }
  return r;
}

}  // namespace

std::string ObjectRef::key() const {
  std::string k;
  for (char c : kind) k += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return name_space + "/" + k + "-" + name + ".json";
}

std::string k8s_name(std::string_view id) {
  std::string out;
  for (char c : id) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool okc = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    out += okc ? c : '-';
  }
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
             (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) | std::uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(n >> s) & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  std::uint32_t n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
  if (rest == 2) n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
  out += kAlphabet[(n >> 18) & 63];
  out += kAlphabet[(n >> 12) & 63];
  out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
  out += '=';
  return out;
}

Result<Template> parse_template(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return make_error(Code::kParse, "template is not valid JSON");
  if (!doc.is_object() || !doc.contains("objects") || !doc["objects"].is_array()) {
    return make_error(Code::kInvalidArgument, "template needs an \"objects\" array");
  }
  Template t;
  t.objects = doc["objects"];
  if (!doc.contains("defaults")) return t;
  if (!doc["defaults"].is_object()) {
    return make_error(Code::kInvalidArgument, "template \"defaults\" must be an object");
  }
  for (const auto& [k, v] : doc["defaults"].items()) {
    if (!v.is_string()) {
      return make_error(Code::kInvalidArgument, "template default '" + k + "' must be a string");
    }
    t.defaults[k] = v.get<std::string>();
  }
  return t;
}

Result<std::vector<RenderedObject>> render(const Template& t, const Scope& root) {
  Chain chain{&root};
  BOOST_OUTCOME_TRY(objs, render_node(t.objects, chain));
  const std::string* ns = lookup_var(chain, "namespace");
  std::vector<RenderedObject> out;
  for (auto& obj : objs) {
    BOOST_OUTCOME_TRY(ref, object_ref(obj, ns != nullptr ? *ns : std::string("default")));
    out.push_back(RenderedObject{std::move(ref), std::move(obj)});
  }
  return out;
}

}  // namespace fc::agent
