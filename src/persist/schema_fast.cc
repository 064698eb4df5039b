// The store's codec: persist.json documents through RapidJSON (see
// schema.h for the mapping). RapidJSON keeps member order and lets a save
// edit the document it replaces in place, so unknown keys (and unknown
// members of Rootfs, Process, Mounts[i], DeviceMaps[i] and Vmshare) are kept
// without a second representation; parsing and writing a few-KiB document
// takes a few microseconds (nlohmann's ordered_json took ~10x that).
//
// Duplicate keys read as Go's decoder reads them (the last one wins); a
// rewrite keeps the first one's position, gives it the new value and drops
// the others (what nlohmann's ordered_json did).
// Every x86-64 CPU has SSE2: RapidJSON then scans string runs (reading and
// writing) and whitespace 16 bytes at a time. Only this file includes it.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "persist/schema.h"

namespace vmshare::persist {
namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag |
                                 rapidjson::kParseIterativeFlag;
// The same without UTF-8 validation, for texts that are all ASCII (what
// vmshare writes, unless a path or annotation is not): nothing to validate.
// Stack buffers for parsing one container's document; a bigger one spills
// to the heap.
constexpr size_t kParseBufferBytes = 8 << 10;
constexpr unsigned kParseAsciiFlags = kParseFlags & ~rapidjson::kParseValidateEncodingFlag;

// One pass the compiler vectorises, far cheaper than validating per string.
bool IsAscii(std::string_view text) {
  unsigned char high = 0;
  for (const char c : text) high |= static_cast<unsigned char>(c);
  return high < 0x80;
}

const char* TypeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "value";
}

// The last member named `key` (Go's decoder: the last one wins), or null.
Value* FindAny(Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  Value* found = nullptr;
  const size_t n = std::char_traits<char>::length(key);
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (it->name.GetStringLength() == n &&
        std::char_traits<char>::compare(it->name.GetString(), key, n) == 0)
      found = &it->value;
  }
  return found;
}
const Value* FindAny(const Value& obj, const char* key) {
  return FindAny(const_cast<Value&>(obj), key);
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}
  const Status& status() const { return status_; }
  void Fail(const std::string& where, std::string_view what) {
    if (status_.ok())
      status_ =
          CorruptionError("parse \"" + path_ + "\": field " + where + ": " + std::string(what));
  }
  // Absent and null are the zero value, as for Go.
  static const Value* Find(const Value& obj, const char* key) {
    const Value* v = FindAny(obj, key);
    return v && !v->IsNull() ? v : nullptr;
  }
  void String(const Value& obj, const char* key, const std::string& where, std::string* out) {
    const Value* v = Find(obj, key);
    if (!v) return;
    if (!v->IsString()) return Fail(where + key, "expected a string");
    out->assign(v->GetString(), v->GetStringLength());
  }
  void Bool(const Value& obj, const char* key, const std::string& where, bool* out) {
    const Value* v = Find(obj, key);
    if (!v) return;
    if (!v->IsBool()) return Fail(where + key, "expected a boolean");
    *out = v->GetBool();
  }
  template <typename T>
  void Int(const Value& obj, const char* key, const std::string& where, T* out) {
    const Value* v = Find(obj, key);
    if (!v) return;
    if (v->IsUint64()) {
      const uint64_t u = v->GetUint64();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return Fail(where + key, "out of range");
      *out = static_cast<T>(u);
    } else if (v->IsInt64()) {
      const int64_t i = v->GetInt64();
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return Fail(where + key, "out of range");
      *out = static_cast<T>(i);
    } else {
      Fail(where + key, "expected an integer");
    }
  }
  void Strings(const Value& obj, const char* key, const std::string& where,
               std::vector<std::string>* out) {
    const Value* v = Find(obj, key);
    if (!v) return;
    if (!v->IsArray()) return Fail(where + key, "expected an array of strings");
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const Value& e = (*v)[i];
      if (!e.IsString())
        return Fail(where + key + "[" + std::to_string(i) + "]", "expected a string");
      out->emplace_back(e.GetString(), e.GetStringLength());
    }
  }
  template <typename F>
  void Array(const Value& obj, const char* key, const std::string& where, F each) {
    const Value* v = Find(obj, key);
    if (!v) return;
    if (!v->IsArray()) return Fail(where + key, "expected an array");
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const std::string at = where + key + "[" + std::to_string(i) + "]";
      if (!(*v)[i].IsObject()) return Fail(at, "expected an object");
      each((*v)[i], at + ".");
    }
  }

 private:
  const std::string& path_;
  Status status_;
};

void ReadMount(Reader& r, const Value& m, const std::string& at, Mount* out) {
  r.String(m, "Source", at, &out->source);
  r.String(m, "Destination", at, &out->destination);
  r.String(m, "Type", at, &out->type);
  if (out->type.empty()) r.String(m, "FsType", at, &out->type);
  r.Strings(m, "Options", at, &out->options);
  r.String(m, "HostPath", at, &out->host_path);
  r.String(m, "BlockDeviceID", at, &out->block_device_id);
  r.Bool(m, "ReadOnly", at, &out->read_only);
  r.Bool(m, "Mounted", at, &out->mounted);
}

void ReadProcess(Reader& r, const Value& p, const std::string& at, Process* out) {
  r.String(p, "Token", at, &out->token);
  r.Int(p, "Pid", at, &out->pid);
  r.String(p, "StartTime", at, &out->start_time);
  if (out->start_time == kGoZeroTime) out->start_time.clear();
}

// Parses `text` with `parse(flags)`, which runs one of doc's parsers; the
// flags skip UTF-8 validation for an all-ASCII text.
template <typename F>
Status ParseWith(rapidjson::Document* doc, std::string_view text, const std::string& path,
                 F parse) {
  if (text.empty()) return CorruptionError("parse \"" + path + "\": empty file");
  if (IsAscii(text))
    parse(std::integral_constant<unsigned, kParseAsciiFlags>{});
  else
    parse(std::integral_constant<unsigned, kParseFlags>{});
  if (doc->HasParseError())
    return CorruptionError("parse \"" + path + "\": parse error at byte " +
                           std::to_string(doc->GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc->GetParseError()));
  if (!doc->IsObject())
    return CorruptionError("parse \"" + path + "\": expected a JSON object, got " + TypeName(*doc));
  return Status::Ok();
}

bool HasNul(std::string_view text) {
  return std::memchr(text.data(), '\0', text.size()) != nullptr;
}

// By length: RapidJSON's plain stream, which reports a NUL where it is.
Status Parse(rapidjson::Document* doc, std::string_view text, const std::string& path) {
  return ParseWith(doc, text, path, [&](auto flags) {
    doc->Parse<decltype(flags)::value>(text.data(), text.size());
  });
}

// RapidJSON's SSE2 scans of string runs and whitespace work on NUL-
// terminated streams, as a std::string is (unless it holds a NUL itself).
Status Parse(rapidjson::Document* doc, const std::string& text, const std::string& path) {
  if (HasNul(text)) return Parse(doc, std::string_view(text), path);
  return ParseWith(doc, text, path,
                   [&](auto flags) { doc->Parse<decltype(flags)::value>(text.c_str()); });
}

// The same on `copy` (text's bytes, then a NUL), parsed in place: the
// document's strings point into it, so it must outlive the document.
Status ParseInPlace(rapidjson::Document* doc, std::string_view text, char* copy,
                    const std::string& path) {
  if (HasNul(text)) return Parse(doc, text, path);
  return ParseWith(doc, text, path,
                   [&](auto flags) { doc->ParseInsitu<decltype(flags)::value>(copy); });
}

// ---- writing -------------------------------------------------------------

Value Str(const std::string& s, Alloc& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// obj[key] = v: the first member of that name keeps its place and gets the
// value, later duplicates go; a new key goes at the end.
void Set(Value& obj, const char* key, Value v, Alloc& a) {
  const size_t n = std::char_traits<char>::length(key);
  bool done = false;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd();) {
    if (it->name.GetStringLength() == n &&
        std::char_traits<char>::compare(it->name.GetString(), key, n) == 0) {
      if (!done) {
        it->value = std::move(v);
        done = true;
      } else {
        it = obj.EraseMember(it);
        continue;
      }
    }
    ++it;
  }
  if (!done) obj.AddMember(Value(key, a), std::move(v), a);
}

void Erase(Value& obj, const char* key) {
  const size_t n = std::char_traits<char>::length(key);
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd();) {
    if (it->name.GetStringLength() == n &&
        std::char_traits<char>::compare(it->name.GetString(), key, n) == 0)
      it = obj.EraseMember(it);
    else
      ++it;
  }
}

// Takes the object base[key] out of `base` (to edit and put back), or a new one.
Value TakeObject(Value& base, const char* key) {
  Value* v = FindAny(base, key);
  if (v && v->IsObject()) return std::move(*v);
  return Value(rapidjson::kObjectType);
}

Value StringsOrNull(const std::vector<std::string>& v, Alloc& a) {
  if (v.empty()) return Value(rapidjson::kNullType);
  Value arr(rapidjson::kArrayType);
  arr.Reserve(static_cast<rapidjson::SizeType>(v.size()), a);
  for (const auto& s : v) arr.PushBack(Str(s, a), a);
  return arr;
}

void WriteMount(const Mount& m, Value& j, Alloc& a) {
  Set(j, "Source", Str(m.source, a), a);
  Set(j, "Destination", Str(m.destination, a), a);
  Set(j, "Type", Str(m.type, a), a);
  Set(j, "HostPath", Str(m.host_path, a), a);
  Set(j, "BlockDeviceID", Str(m.block_device_id, a), a);
  Set(j, "Options", StringsOrNull(m.options, a), a);
  Set(j, "ReadOnly", Value(m.read_only), a);
  Set(j, "Mounted", Value(m.mounted), a);
}

Value ProcessJson(const Process& p, Value j, Alloc& a) {
  Set(j, "StartTime", p.start_time.empty() ? Value(kGoZeroTime, a) : Str(p.start_time, a), a);
  Set(j, "Token", Str(p.token, a), a);
  Set(j, "Pid", Value(static_cast<int64_t>(p.pid)), a);
  return j;
}

bool StringIs(const Value& obj, const char* key, const std::string& want) {
  const Value* v = FindAny(obj, key);
  return v && v->IsString() && v->GetStringLength() == want.size() &&
         std::char_traits<char>::compare(v->GetString(), want.data(), want.size()) == 0;
}

// Matches the new elements of an array (Mounts, DeviceMaps) to the old
// ones, each old element used at most once: the one at the same position
// when it has the same identity, else the first unused one with the same
// identity (`same(old, i)`), else the first unused one with the same key
// (`near(old, i)`). Two mounts at one destination thus keep their own
// unknown keys. Returns, for each new element, the old index or -1.
template <typename Same, typename Near>
std::vector<int> MatchElements(const Value* old, size_t count, Same same, Near near) {
  std::vector<int> match(count, -1);
  if (!old || !old->IsArray()) return match;
  std::vector<bool> used(old->Size(), false);
  auto usable = [&](size_t k) {
    return !used[k] && (*old)[static_cast<rapidjson::SizeType>(k)].IsObject();
  };
  auto take = [&](size_t i, size_t k) {
    match[i] = static_cast<int>(k);
    used[k] = true;
  };
  for (size_t i = 0; i < count; ++i)
    if (i < used.size() && usable(i) && same((*old)[static_cast<rapidjson::SizeType>(i)], i))
      take(i, i);
  for (size_t i = 0; i < count; ++i) {
    if (match[i] >= 0) continue;
    for (size_t k = 0; k < used.size() && match[i] < 0; ++k)
      if (usable(k) && same((*old)[static_cast<rapidjson::SizeType>(k)], i)) take(i, k);
  }
  for (size_t i = 0; i < count; ++i) {
    if (match[i] >= 0) continue;
    for (size_t k = 0; k < used.size() && match[i] < 0; ++k)
      if (usable(k) && near((*old)[static_cast<rapidjson::SizeType>(k)], i)) take(i, k);
  }
  return match;
}

void EncodeContainerInto(const ContainerState& s, rapidjson::Document& j) {
  Alloc& a = j.GetAllocator();
  Set(j, "State", Str(s.state, a), a);
  Set(j, "CgroupPath", Str(s.cgroup_path, a), a);
  Set(j, "BundlePath", Str(s.bundle_path, a), a);

  Value root = TakeObject(j, "Rootfs");
  WriteMount(s.rootfs, root, a);
  Set(root, "FsType", s.rootfs.block_device_id.empty() ? Value("", a) : Str(s.rootfs.type, a), a);
  Set(j, "Rootfs", std::move(root), a);

  Value proc = TakeObject(j, "Process");
  Set(j, "Process",
      ProcessJson(s.process.empty() ? Process{} : s.process.front(), std::move(proc), a), a);
  Value vm = TakeObject(j, kVmshareKey);
  if (s.process.size() > 1 || (s.process.size() == 1 && s.process.front() == Process{})) {
    Value all(rapidjson::kArrayType);
    for (const auto& p : s.process)
      all.PushBack(ProcessJson(p, Value(rapidjson::kObjectType), a), a);
    Set(vm, "Processes", std::move(all), a);
  } else {
    Erase(vm, "Processes");
  }
  if (vm.MemberCount() == 0)
    Erase(j, kVmshareKey);
  else
    Set(j, kVmshareKey, std::move(vm), a);

  Value* old_maps = FindAny(j, "DeviceMaps");
  const auto& dm = s.device_maps;
  std::vector<int> map_match = MatchElements(
      old_maps, dm.size(),
      [&](const Value& o, size_t i) {
        return StringIs(o, "ContainerPath", dm[i].container_path) && StringIs(o, "ID", dm[i].id);
      },
      [&](const Value& o, size_t i) { return StringIs(o, "ContainerPath", dm[i].container_path); });
  Value maps(rapidjson::kNullType);
  if (!dm.empty()) maps.SetArray();
  for (size_t i = 0; i < dm.size(); ++i) {
    Value e = map_match[i] >= 0
                  ? std::move((*old_maps)[static_cast<rapidjson::SizeType>(map_match[i])])
                  : Value(rapidjson::kObjectType);
    Set(e, "ID", Str(dm[i].id, a), a);
    Set(e, "ContainerPath", Str(dm[i].container_path, a), a);
    Set(e, "FileMode", Value(static_cast<uint64_t>(dm[i].file_mode)), a);
    Set(e, "UID", Value(static_cast<uint64_t>(dm[i].uid)), a);
    Set(e, "GID", Value(static_cast<uint64_t>(dm[i].gid)), a);
    maps.PushBack(std::move(e), a);
  }
  Set(j, "DeviceMaps", std::move(maps), a);

  Value* old_mounts = FindAny(j, "Mounts");
  const auto& ms = s.mounts;
  std::vector<int> mount_match = MatchElements(
      old_mounts, ms.size(),
      [&](const Value& o, size_t i) {
        return StringIs(o, "Destination", ms[i].destination) && StringIs(o, "Source", ms[i].source);
      },
      [&](const Value& o, size_t i) { return StringIs(o, "Destination", ms[i].destination); });
  Value mounts(rapidjson::kNullType);
  if (!ms.empty()) mounts.SetArray();
  for (size_t i = 0; i < ms.size(); ++i) {
    Value e = mount_match[i] >= 0
                  ? std::move((*old_mounts)[static_cast<rapidjson::SizeType>(mount_match[i])])
                  : Value(rapidjson::kObjectType);
    Erase(e, "FsType");  // Type carries it now; a stale one would be read back
    WriteMount(ms[i], e, a);
    mounts.PushBack(std::move(e), a);
  }
  Set(j, "Mounts", std::move(mounts), a);
}

void EncodeSandboxInto(const SandboxState& s, rapidjson::Document& j) {
  Alloc& a = j.GetAllocator();
  Set(j, "State", Str(s.state, a), a);
  Set(j, "SandboxContainer", Str(s.sandbox_container, a), a);
  Set(j, "PersistVersion", Value(static_cast<uint64_t>(kPersistVersion)), a);
  Value vm = TakeObject(j, kVmshareKey);
  Set(vm, "SharedFs", Str(s.shared_fs, a), a);
  Set(vm, "BindMounts", StringsOrNull(s.bind_mounts, a), a);
  // Written only when not the default, so default documents keep their shape.
  Erase(vm, "ShareBase");
  Erase(vm, "RootfsName");
  if (!s.share_base.empty()) vm.AddMember("ShareBase", Str(s.share_base, a), a);
  if (s.rootfs_name != "rootfs") vm.AddMember("RootfsName", Str(s.rootfs_name, a), a);
  if (s.processes.empty()) {
    Erase(vm, "Processes");
  } else {
    Value all(rapidjson::kArrayType);
    for (const auto& p : s.processes) {
      Value e(rapidjson::kObjectType);
      e.AddMember("Role", Str(p.role, a), a);
      e.AddMember("Pid", Value(static_cast<int64_t>(p.pid)), a);
      e.AddMember("StartTimeTicks", Value(p.start_time_ticks), a);
      e.AddMember("State", Str(p.state, a), a);
      all.PushBack(std::move(e), a);
    }
    Set(vm, "Processes", std::move(all), a);
  }
  Set(j, kVmshareKey, std::move(vm), a);
}

// Invalid UTF-8 can only sit inside strings (the structure is ASCII); each
// bad byte becomes U+FFFD, so what we write always parses again.
std::string ValidUtf8(std::string in) {
  if (IsAscii(in)) return in;  // the usual document
  size_t i = 0;
  const size_t n = in.size();
  auto cont = [&](size_t k) { return k < n && (static_cast<unsigned char>(in[k]) & 0xC0) == 0x80; };
  auto valid_at = [&](size_t k) -> size_t {  // length of a valid sequence at k, 0 if none
    const unsigned char c = static_cast<unsigned char>(in[k]);
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(k + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(k + 1) || !cont(k + 2)) return 0;
      const unsigned char c1 = static_cast<unsigned char>(in[k + 1]);
      if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
      if (c == 0xED && c1 >= 0xA0) return 0;  // surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(k + 1) || !cont(k + 2) || !cont(k + 3)) return 0;
      const unsigned char c1 = static_cast<unsigned char>(in[k + 1]);
      if (c == 0xF0 && c1 < 0x90) return 0;
      if (c == 0xF4 && c1 >= 0x90) return 0;
      return 4;
    }
    return 0;
  };
  while (i < n) {
    const size_t len = valid_at(i);
    if (len == 0) break;
    i += len;
  }
  if (i == n) return in;
  std::string out = in.substr(0, i);
  while (i < n) {
    const size_t len = valid_at(i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(in, i, len);
      i += len;
    }
  }
  return out;
}

std::string Write(const rapidjson::Document& doc) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  buf.Put('\n');
  return ValidUtf8(std::string(buf.GetString(), buf.GetSize()));
}

// The document to edit: `base` parsed, or a new object.
Status StartFrom(rapidjson::Document* doc, const std::string* base, const std::string& path) {
  if (!base) {
    doc->SetObject();
    return Status::Ok();
  }
  return Parse(doc, *base, path);
}

}  // namespace

Status ValidateDocument(std::string_view text, const std::string& path) {
  rapidjson::Document doc;
  return Parse(&doc, text, path);
}

Result<ContainerState> DecodeContainer(std::string_view text, const std::string& path) {
  // A container's document (a few KiB) is parsed in buffers on the stack:
  // loading a sandbox decodes one per container, and a heap chunk for each
  // was a tenth of the load.
  // It is parsed in place, from a copy (its strings then need no copies),
  // which outlives the document.
  char copy_on_stack[kParseBufferBytes];
  std::string copy_on_heap;
  char* copy = copy_on_stack;
  if (text.size() >= sizeof copy_on_stack) {
    copy_on_heap.resize(text.size() + 1);
    copy = copy_on_heap.data();
  }
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  char values[kParseBufferBytes];
  Alloc value_alloc(values, sizeof values);
  rapidjson::Document doc(&value_alloc);
  RETURN_IF_ERROR(ParseInPlace(&doc, text, copy, path));
  Reader r(path);
  ContainerState s;
  r.String(doc, "State", "", &s.state);
  r.String(doc, "CgroupPath", "", &s.cgroup_path);
  r.String(doc, "BundlePath", "", &s.bundle_path);
  if (const Value* root = Reader::Find(doc, "Rootfs")) {
    if (!root->IsObject())
      r.Fail("Rootfs", "expected an object");
    else
      ReadMount(r, *root, "Rootfs.", &s.rootfs);
  }
  const Value* vm = Reader::Find(doc, kVmshareKey);
  if (vm && Reader::Find(*vm, "Processes")) {
    r.Array(*vm, "Processes", std::string(kVmshareKey) + ".",
            [&](const Value& p, const std::string& at) {
              ReadProcess(r, p, at, &s.process.emplace_back());
            });
  } else if (const Value* proc = Reader::Find(doc, "Process")) {
    if (proc->IsArray()) {
      r.Array(doc, "Process", "", [&](const Value& p, const std::string& at) {
        ReadProcess(r, p, at, &s.process.emplace_back());
      });
    } else if (proc->IsObject()) {
      Process p;
      ReadProcess(r, *proc, "Process.", &p);
      // Kata 3.x always writes one Process; its zero value means "none".
      if (p != Process{}) s.process.push_back(std::move(p));
    } else {
      r.Fail("Process", "expected an object or an array");
    }
  }
  r.Array(doc, "DeviceMaps", "", [&](const Value& d, const std::string& at) {
    DeviceMap& m = s.device_maps.emplace_back();
    r.String(d, "ID", at, &m.id);
    r.String(d, "ContainerPath", at, &m.container_path);
    r.Int(d, "FileMode", at, &m.file_mode);
    r.Int(d, "UID", at, &m.uid);
    r.Int(d, "GID", at, &m.gid);
  });
  r.Array(doc, "Mounts", "", [&](const Value& m, const std::string& at) {
    ReadMount(r, m, at, &s.mounts.emplace_back());
  });
  if (!r.status().ok()) return r.status();
  return s;
}

Result<SandboxState> DecodeSandbox(std::string_view text, const std::string& path) {
  rapidjson::Document doc;
  RETURN_IF_ERROR(Parse(&doc, text, path));
  Reader r(path);
  SandboxState s;
  uint64_t version = 0;
  r.Int(doc, "PersistVersion", "", &version);
  if (!r.status().ok()) return r.status();
  if (version != kPersistVersion)
    return Status(Code::kUnimplemented, "read \"" + path + "\": unsupported PersistVersion " +
                                            std::to_string(version) + " (this vmshare reads " +
                                            std::to_string(kPersistVersion) + ")");
  s.persist_version = static_cast<uint32_t>(version);
  r.String(doc, "State", "", &s.state);
  r.String(doc, "SandboxContainer", "", &s.sandbox_container);
  if (const Value* vm = Reader::Find(doc, kVmshareKey)) {
    const std::string at = std::string(kVmshareKey) + ".";
    r.String(*vm, "SharedFs", at, &s.shared_fs);
    r.Strings(*vm, "BindMounts", at, &s.bind_mounts);
    r.String(*vm, "ShareBase", at, &s.share_base);
    r.String(*vm, "RootfsName", at, &s.rootfs_name);
    r.Array(*vm, "Processes", at, [&](const Value& p, const std::string& pat) {
      RecordedProcess& rp = s.processes.emplace_back();
      r.String(p, "Role", pat, &rp.role);
      r.Int(p, "Pid", pat, &rp.pid);
      r.Int(p, "StartTimeTicks", pat, &rp.start_time_ticks);
      r.String(p, "State", pat, &rp.state);
    });
  }
  if (!r.status().ok()) return r.status();
  return s;
}

Result<std::string> EncodeContainer(const ContainerState& state, const std::string* base,
                                    const std::string& path) {
  rapidjson::Document doc;
  RETURN_IF_ERROR(StartFrom(&doc, base, path));
  EncodeContainerInto(state, doc);
  return Write(doc);
}

Result<std::string> EncodeSandbox(const SandboxState& state, const std::string* base,
                                  const std::string& path) {
  rapidjson::Document doc;
  RETURN_IF_ERROR(StartFrom(&doc, base, path));
  EncodeSandboxInto(state, doc);
  return Write(doc);
}

Result<Mount> DecodeMount(std::string_view text, const std::string& path) {
  rapidjson::Document doc;
  RETURN_IF_ERROR(Parse(&doc, text, path));
  Reader r(path);
  Mount m;
  ReadMount(r, doc, "", &m);
  if (!r.status().ok()) return r.status();
  return m;
}

std::string EncodeMount(const Mount& mount) {
  rapidjson::Document doc;
  doc.SetObject();
  WriteMount(mount, doc, doc.GetAllocator());
  return Write(doc);
}

}  // namespace vmshare::persist
