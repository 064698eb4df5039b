#include "sys/mountinfo.h"

#include <libmount/libmount.h>

#include <cerrno>
#include <memory>

#include "sys/sys_error.h"

namespace vmshare::sys {
namespace {

constexpr char kMountInfo[] = "/proc/self/mountinfo";

std::string Str(const char* s) { return s ? std::string(s) : std::string(); }

struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterFree {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};

}  // namespace

Result<std::vector<MountEntry>> ReadMountTable() {
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table());
  if (!table) return SysErrorCode(ENOMEM, "read mount table", kMountInfo);
  // libmount returns a negative errno.
  const int rc = mnt_table_parse_file(table.get(), kMountInfo);
  if (rc != 0) return SysErrorCode(rc < 0 ? -rc : EIO, "read mount table", kMountInfo);
  std::unique_ptr<libmnt_iter, IterFree> it(mnt_new_iter(MNT_ITER_FORWARD));
  if (!it) return SysErrorCode(ENOMEM, "read mount table", kMountInfo);
  std::vector<MountEntry> out;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), it.get(), &fs) == 0) {
    MountEntry e;
    e.id = mnt_fs_get_id(fs);
    e.parent_id = mnt_fs_get_parent_id(fs);
    e.target = Str(mnt_fs_get_target(fs));
    e.root = Str(mnt_fs_get_root(fs));
    e.source = Str(mnt_fs_get_source(fs));
    e.fstype = Str(mnt_fs_get_fstype(fs));
    e.options = Str(mnt_fs_get_vfs_options(fs));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<MountEntry> MountsUnder(const std::vector<MountEntry>& table, const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  std::vector<MountEntry> out;
  for (const auto& e : table) {
    if (e.target == d || (e.target.size() > d.size() && e.target.compare(0, d.size(), d) == 0 &&
                          (d == "/" || e.target[d.size()] == '/')))
      out.push_back(e);
  }
  return out;
}

}  // namespace vmshare::sys
