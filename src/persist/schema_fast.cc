// The store's codec, writing: persist.json documents through RapidJSON (see
// schema.h for the mapping; schema_decode.cc reads). RapidJSON keeps member
// order and lets a save edit the document it replaces in place, so unknown
// keys (and unknown members of Rootfs, Process, Mounts[i], DeviceMaps[i] and
// Vmshare) are kept without a second representation; parsing and writing a
// few-KiB document takes a few microseconds (nlohmann's ordered_json took
// ~10x that).
//
// A rewrite keeps the first of duplicate keys' position, gives it the new
// value and drops the others (what nlohmann's ordered_json did).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <utility>

#include "persist/rapidjson_parse.h"
#include "persist/schema.h"

namespace vmshare::persist {
namespace codec {

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

}  // namespace codec

namespace {

using codec::Alloc;
using codec::IsAscii;
using codec::Value;

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
  return codec::Parse(doc, *base, path);
}

}  // namespace

Status ValidateDocument(std::string_view text, const std::string& path) {
  rapidjson::Document doc;
  return codec::Parse(&doc, text, path);
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

std::string EncodeMount(const Mount& mount) {
  rapidjson::Document doc;
  doc.SetObject();
  WriteMount(mount, doc, doc.GetAllocator());
  return Write(doc);
}

}  // namespace vmshare::persist
