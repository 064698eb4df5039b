#include "sandbox/layout.h"

#include <cstdio>

namespace vmshare::sandbox {

std::string StateRootOf(const std::string& root) { return root + "/sbs"; }
std::string VmRootOf(const std::string& root) { return root + "/vm"; }
std::string DefaultShareBaseOf(const std::string& root) { return share::ShareTreePaths::For(root, "").sandboxes; }

SandboxLayout SandboxLayout::For(const std::string& root, const std::string& sid, const std::string& share_base) {
  SandboxLayout l;
  l.root = root;
  l.sandbox_id = sid;
  l.share_base = share_base;
  l.tree = share::ShareTreePaths::For(root, sid, share_base);
  l.state_root = StateRootOf(root);
  l.state_dir = l.state_root + "/" + sid;
  l.vm_root = VmRootOf(root);
  l.run_dir = l.vm_root + "/" + sid;
  l.kvm_probe = root + "/kvm-probe";
  return l;
}

std::string NewRunSandboxId(sys::Env* env) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "run-%d-%llx", static_cast<int>(env->GetPid()),
                static_cast<unsigned long long>(env->NowNanos() & 0xffffffffffULL));
  return buf;
}

}  // namespace vmshare::sandbox
