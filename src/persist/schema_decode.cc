// The store's codec, reading: persist.json documents into ContainerState,
// SandboxState and Mount (see schema.h for the mapping; schema_fast.cc
// writes). Loading a sandbox decodes one document per container, so this is
// on the load's path once per container:
//   - each object's members are matched to the keys a decoder reads in one
//     pass (Fields), not one search per key;
//   - a field's place in the document ("Mounts[2].Options") is spelled only
//     for an error message (At);
//   - a container's document is parsed in place, from a copy on the stack,
//     into a document whose values and parser stacks are pools on the stack.
//
// Duplicate keys read as Go's decoder reads them: the last one wins. Fields
// are checked in a fixed order (not the document's), and the first error
// found is the one returned.
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "persist/rapidjson_parse.h"
#include "persist/schema.h"

namespace vmshare::persist {
namespace {

using codec::Value;

// Stack buffers for parsing one container's document; a bigger one spills
// to the heap.
constexpr size_t kParseBufferBytes = 8 << 10;
// The document's parse stack starts at this size (RapidJSON's default); both
// stacks, its and the parser's, fit in the stack pool.
constexpr size_t kDocumentStackBytes = 1024;
constexpr size_t kParseStackBytes = 2 << 10;

// Where a value sits: `key` of the object at `parent` (the document itself
// when null), and element `index` of it when it is an array's element.
struct At {
  const At* parent = nullptr;
  std::string_view key;
  long index = -1;

  // "Mounts[2].Options", as an error message names it.
  std::string Name() const {
    std::string out = parent ? parent->Name() + "." : std::string();
    out += key;
    if (index >= 0) out += "[" + std::to_string(index) + "]";
    return out;
  }
};

// a == b, testing the cheap differences first (most keys differ in length
// or in their first byte).
inline bool Is(std::string_view key, std::string_view name) {
  return key.size() == name.size() && !key.empty() && key[0] == name[0] &&
         std::memcmp(key.data(), name.data(), key.size()) == 0;
}

// The members of one object (at `where`) that a decoder reads, found in one
// pass: slot k holds the last member named Keys::kNames[k] (Go: the last one
// wins), or null. A null `obj`, or one that is not an object, has none.
template <typename Keys>
class Fields {
 public:
  static constexpr size_t kCount = std::size(Keys::kNames);

  Fields(const Value* obj, const At* where) : where_(where) {
    if (!obj || !obj->IsObject()) return;
    // kNames are in the order vmshare writes them, so the search for a
    // member usually ends at the slot after the previous member's.
    size_t next = 0;
    for (auto it = obj->MemberBegin(); it != obj->MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      for (size_t tries = 0, k = next; tries < kCount; ++tries, k = k + 1 == kCount ? 0 : k + 1) {
        if (Is(Keys::kNames[k], name)) {
          found_[k] = &it->value;
          next = k + 1 == kCount ? 0 : k + 1;
          break;
        }
      }
    }
  }
  // Absent and null are the zero value, as for Go.
  const Value* Get(size_t k) const {
    return found_[k] && !found_[k]->IsNull() ? found_[k] : nullptr;
  }
  At Field(size_t k, long index = -1) const { return At{where_, Keys::kNames[k], index}; }

 private:
  const At* where_;
  const Value* found_[kCount] = {};
};

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}
  const Status& status() const { return status_; }
  void Fail(const At& at, std::string_view what) {
    if (status_.ok())
      status_ =
          CorruptionError("parse \"" + path_ + "\": field " + at.Name() + ": " + std::string(what));
  }
  template <typename K>
  void String(const Fields<K>& f, size_t k, std::string* out) {
    const Value* v = f.Get(k);
    if (!v) return;
    if (!v->IsString()) return Fail(f.Field(k), "expected a string");
    out->assign(v->GetString(), v->GetStringLength());
  }
  template <typename K>
  void Bool(const Fields<K>& f, size_t k, bool* out) {
    const Value* v = f.Get(k);
    if (!v) return;
    if (!v->IsBool()) return Fail(f.Field(k), "expected a boolean");
    *out = v->GetBool();
  }
  template <typename K, typename T>
  void Int(const Fields<K>& f, size_t k, T* out) {
    const Value* v = f.Get(k);
    if (!v) return;
    if (v->IsUint64()) {
      const uint64_t u = v->GetUint64();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return Fail(f.Field(k), "out of range");
      *out = static_cast<T>(u);
    } else if (v->IsInt64()) {
      const int64_t i = v->GetInt64();
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return Fail(f.Field(k), "out of range");
      *out = static_cast<T>(i);
    } else {
      Fail(f.Field(k), "expected an integer");
    }
  }
  template <typename K>
  void Strings(const Fields<K>& f, size_t k, std::vector<std::string>* out) {
    const Value* v = f.Get(k);
    if (!v) return;
    if (!v->IsArray()) return Fail(f.Field(k), "expected an array of strings");
    out->reserve(out->size() + v->Size());
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const Value& e = (*v)[i];
      if (!e.IsString()) return Fail(f.Field(k, i), "expected a string");
      out->emplace_back(e.GetString(), e.GetStringLength());
    }
  }
  // Each object of the array at f[k], as each(element, its place, a new
  // element of `out`).
  template <typename K, typename T, typename F>
  void Array(const Fields<K>& f, size_t k, std::vector<T>* out, F each) {
    const Value* v = f.Get(k);
    if (!v) return;
    if (!v->IsArray()) return Fail(f.Field(k), "expected an array");
    out->reserve(out->size() + v->Size());
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const At at = f.Field(k, i);
      if (!(*v)[i].IsObject()) return Fail(at, "expected an object");
      each((*v)[i], at, out->emplace_back());
    }
  }

 private:
  const std::string& path_;
  Status status_;
};

// The keys each decoder reads, in the order vmshare writes them;
// Fields<MountKeys> finds them in a Mount object.
struct MountKeys {
  enum Key : size_t {
    kSource,
    kDestination,
    kType,
    kHostPath,
    kBlockDeviceId,
    kOptions,
    kReadOnly,
    kMounted,
    kFsType,
    kCount
  };
  static constexpr std::string_view kNames[] = {"Source",   "Destination",   "Type",
                                                "HostPath", "BlockDeviceID", "Options",
                                                "ReadOnly", "Mounted",       "FsType"};
};
struct ProcessKeys {
  enum Key : size_t { kStartTime, kToken, kPid, kCount };
  static constexpr std::string_view kNames[] = {"StartTime", "Token", "Pid"};
};
struct DeviceMapKeys {
  enum Key : size_t { kId, kContainerPath, kFileMode, kUid, kGid, kCount };
  static constexpr std::string_view kNames[] = {"ID", "ContainerPath", "FileMode", "UID", "GID"};
};
struct ContainerKeys {
  enum Key : size_t {
    kState,
    kCgroupPath,
    kBundlePath,
    kRootfs,
    kProcess,
    kVmshare,
    kDeviceMaps,
    kMounts,
    kCount
  };
  static constexpr std::string_view kNames[] = {"State",   "CgroupPath", "BundlePath", "Rootfs",
                                                "Process", kVmshareKey,  "DeviceMaps", "Mounts"};
};
struct ContainerVmshareKeys {
  enum Key : size_t { kProcesses, kCount };
  static constexpr std::string_view kNames[] = {"Processes"};
};
struct SandboxKeys {
  enum Key : size_t { kState, kSandboxContainer, kPersistVersion, kVmshare, kCount };
  static constexpr std::string_view kNames[] = {"State", "SandboxContainer", "PersistVersion",
                                                kVmshareKey};
};
struct SandboxVmshareKeys {
  enum Key : size_t { kSharedFs, kBindMounts, kShareBase, kRootfsName, kProcesses, kCount };
  static constexpr std::string_view kNames[] = {"SharedFs", "BindMounts", "ShareBase", "RootfsName",
                                                "Processes"};
};
struct RecordedProcessKeys {
  enum Key : size_t { kRole, kPid, kStartTimeTicks, kState, kCount };
  static constexpr std::string_view kNames[] = {"Role", "Pid", "StartTimeTicks", "State"};
};
static_assert(std::size(MountKeys::kNames) == MountKeys::kCount);
static_assert(std::size(ProcessKeys::kNames) == ProcessKeys::kCount);
static_assert(std::size(DeviceMapKeys::kNames) == DeviceMapKeys::kCount);
static_assert(std::size(ContainerKeys::kNames) == ContainerKeys::kCount);
static_assert(std::size(ContainerVmshareKeys::kNames) == ContainerVmshareKeys::kCount);
static_assert(std::size(SandboxKeys::kNames) == SandboxKeys::kCount);
static_assert(std::size(SandboxVmshareKeys::kNames) == SandboxVmshareKeys::kCount);
static_assert(std::size(RecordedProcessKeys::kNames) == RecordedProcessKeys::kCount);

void ReadMount(Reader& r, const Value& m, const At* where, Mount* out) {
  using K = MountKeys;
  const Fields<K> f(&m, where);
  r.String(f, K::kSource, &out->source);
  r.String(f, K::kDestination, &out->destination);
  r.String(f, K::kType, &out->type);
  if (out->type.empty()) r.String(f, K::kFsType, &out->type);
  r.Strings(f, K::kOptions, &out->options);
  r.String(f, K::kHostPath, &out->host_path);
  r.String(f, K::kBlockDeviceId, &out->block_device_id);
  r.Bool(f, K::kReadOnly, &out->read_only);
  r.Bool(f, K::kMounted, &out->mounted);
}

void ReadProcess(Reader& r, const Value& p, const At& where, Process* out) {
  using K = ProcessKeys;
  const Fields<K> f(&p, &where);
  r.String(f, K::kToken, &out->token);
  r.Int(f, K::kPid, &out->pid);
  r.String(f, K::kStartTime, &out->start_time);
  if (out->start_time == kGoZeroTime) out->start_time.clear();
}

void ReadDeviceMap(Reader& r, const Value& d, const At& where, DeviceMap* out) {
  using K = DeviceMapKeys;
  const Fields<K> f(&d, &where);
  r.String(f, K::kId, &out->id);
  r.String(f, K::kContainerPath, &out->container_path);
  r.Int(f, K::kFileMode, &out->file_mode);
  r.Int(f, K::kUid, &out->uid);
  r.Int(f, K::kGid, &out->gid);
}

// Kata 2.x: an array of Process; Kata 3.x: one, whose zero value means
// none; vmshare: all of them under Vmshare.Processes, when not just one.
void ReadProcesses(Reader& r, const Fields<ContainerKeys>& doc, std::vector<Process>* out) {
  using K = ContainerKeys;
  auto read = [&](const Value& p, const At& at, Process& into) { ReadProcess(r, p, at, &into); };
  const At vm_at{nullptr, kVmshareKey};
  const Fields<ContainerVmshareKeys> vm(doc.Get(K::kVmshare), &vm_at);
  if (vm.Get(ContainerVmshareKeys::kProcesses))
    return r.Array(vm, ContainerVmshareKeys::kProcesses, out, read);
  const Value* proc = doc.Get(K::kProcess);
  if (!proc) return;
  if (proc->IsArray()) return r.Array(doc, K::kProcess, out, read);
  if (!proc->IsObject()) return r.Fail(doc.Field(K::kProcess), "expected an object or an array");
  const At at = doc.Field(K::kProcess);
  Process p;
  ReadProcess(r, *proc, at, &p);
  if (p != Process{}) out->push_back(std::move(p));
}

ContainerState ReadContainer(Reader& r, const Value& doc) {
  using K = ContainerKeys;
  ContainerState s;
  const Fields<K> f(&doc, nullptr);
  r.String(f, K::kState, &s.state);
  r.String(f, K::kCgroupPath, &s.cgroup_path);
  r.String(f, K::kBundlePath, &s.bundle_path);
  if (const Value* root = f.Get(K::kRootfs)) {
    const At at = f.Field(K::kRootfs);
    if (!root->IsObject())
      r.Fail(at, "expected an object");
    else
      ReadMount(r, *root, &at, &s.rootfs);
  }
  ReadProcesses(r, f, &s.process);
  r.Array(f, K::kDeviceMaps, &s.device_maps,
          [&](const Value& d, const At& at, DeviceMap& m) { ReadDeviceMap(r, d, at, &m); });
  r.Array(f, K::kMounts, &s.mounts,
          [&](const Value& m, const At& at, Mount& into) { ReadMount(r, m, &at, &into); });
  return s;
}

void ReadSandboxVmshare(Reader& r, const Value& vm, SandboxState* s) {
  using K = SandboxVmshareKeys;
  using P = RecordedProcessKeys;
  const At at{nullptr, kVmshareKey};
  const Fields<K> f(&vm, &at);
  r.String(f, K::kSharedFs, &s->shared_fs);
  r.Strings(f, K::kBindMounts, &s->bind_mounts);
  r.String(f, K::kShareBase, &s->share_base);
  r.String(f, K::kRootfsName, &s->rootfs_name);
  r.Array(f, K::kProcesses, &s->processes, [&](const Value& p, const At& pat, RecordedProcess& rp) {
    const Fields<P> pf(&p, &pat);
    r.String(pf, P::kRole, &rp.role);
    r.Int(pf, P::kPid, &rp.pid);
    r.Int(pf, P::kStartTimeTicks, &rp.start_time_ticks);
    r.String(pf, P::kState, &rp.state);
  });
}

}  // namespace

Result<ContainerState> DecodeContainer(std::string_view text, const std::string& path) {
  // A container's document (a few KiB) is parsed in buffers on the stack:
  // loading a sandbox decodes one per container, and heap chunks for each
  // were a tenth of the load. It is parsed in place, from a copy (its
  // strings then need no copies), which outlives the document.
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
  char stacks[kParseStackBytes];
  codec::Alloc value_alloc(values, sizeof values);
  codec::Alloc stack_alloc(stacks, sizeof stacks);
  codec::PoolDocument doc(&value_alloc, kDocumentStackBytes, &stack_alloc);
  RETURN_IF_ERROR(codec::ParseInPlace(&doc, text, copy, path));
  Reader r(path);
  ContainerState s = ReadContainer(r, doc);
  if (!r.status().ok()) return r.status();
  return s;
}

Result<SandboxState> DecodeSandbox(std::string_view text, const std::string& path) {
  using K = SandboxKeys;
  rapidjson::Document doc;
  RETURN_IF_ERROR(codec::Parse(&doc, text, path));
  Reader r(path);
  SandboxState s;
  const Fields<K> f(&doc, nullptr);
  uint64_t version = 0;
  r.Int(f, K::kPersistVersion, &version);
  if (!r.status().ok()) return r.status();
  if (version != kPersistVersion)
    return Status(Code::kUnimplemented, "read \"" + path + "\": unsupported PersistVersion " +
                                            std::to_string(version) + " (this vmshare reads " +
                                            std::to_string(kPersistVersion) + ")");
  s.persist_version = static_cast<uint32_t>(version);
  r.String(f, K::kState, &s.state);
  r.String(f, K::kSandboxContainer, &s.sandbox_container);
  if (const Value* vm = f.Get(K::kVmshare)) ReadSandboxVmshare(r, *vm, &s);
  if (!r.status().ok()) return r.status();
  return s;
}

Result<Mount> DecodeMount(std::string_view text, const std::string& path) {
  rapidjson::Document doc;
  RETURN_IF_ERROR(codec::Parse(&doc, text, path));
  Reader r(path);
  Mount m;
  ReadMount(r, doc, nullptr, &m);
  if (!r.status().ok()) return r.status();
  return m;
}

}  // namespace vmshare::persist
