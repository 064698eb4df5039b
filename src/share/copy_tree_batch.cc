// TreeCopier's batches (see copy_tree.h): small entries as steps of vmshare
// Batch calls, sent through the same CallWindow as every other call.
#include <fcntl.h>

#include "agent/vmshare_wire.h"
#include "core/ids.h"
#include "share/copy_tree.h"

namespace vmshare::share {
Result<TreeCopier::Ticket> TreeCopier::Send(const char* service, const char* method,
                                            std::string payload, std::chrono::milliseconds timeout,
                                            Ticket after) {
  RETURN_IF_ERROR(FlushBatch());
  return window_->Send(service, method, std::move(payload), timeout, after);
}

Status TreeCopier::FlushBatch() {
  if (batch_.ops.empty()) return Status::Ok();
  const Ticket after = batch_.after;
  std::string payload = agent::EncodeBatchRequest(batch_.ops);
  batch_ = {};
  return window_->Send(agent::kVmshareService, "Batch", std::move(payload), kVmshareTimeout, after)
      .status();
}

Result<TreeCopier::Ticket> TreeCopier::BatchFor(uint64_t more_bytes, Ticket parent) {
  if (!batch_.ops.empty() &&
      (batch_.ops.size() + 2 > agent::kMaxBatchOps || batch_.bytes + more_bytes > kBatchBytes)) {
    RETURN_IF_ERROR(FlushBatch());
  }
  const Ticket self = window_->next();
  // A parent made in this batch comes before its entries anyway; one made
  // earlier is the newest of the calls it needs: each of those older ones
  // is an ancestor, which that call waited for.
  if (parent != 0 && parent < self) batch_.after = std::max(batch_.after, parent);
  return self;
}

Status TreeCopier::BatchFile(const sys::Fd& opened, const sys::FileInfo& info,
                             const std::string& host_path, const std::string& dest, Ticket parent) {
  std::string data;
  while (data.size() < info.size) {
    ASSIGN_OR_RETURN(std::string got, env_->Read(opened, info.size - data.size()));
    if (got.empty()) {
      return FailedPreconditionError("copy " + Quote(host_path) + ": file shrank from " +
                                     std::to_string(info.size) + " to " +
                                     std::to_string(data.size()) + " bytes while it was copied");
    }
    if (data.empty()) {
      data = std::move(got);
    } else {
      data += got;
    }
  }
  ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, &opened, info, dest));
  uint64_t bytes = data.size() + 2 * dest.size();
  for (const auto& [name, value] : attrs.xattrs) bytes += name.size() + value.size();
  RETURN_IF_ERROR(BatchFor(bytes, parent).status());
  ++stats_.entries;
  agent::CopyFileRequest r = CopyHeader(info, dest);
  r.file_size = static_cast<int64_t>(info.size);
  r.data = std::move(data);
  batch_.ops.emplace_back(std::move(r));
  batch_.ops.emplace_back(std::move(attrs));
  batch_.bytes += bytes;
  stats_.bytes += info.size;
  Report(host_path, /*final=*/false);
  return Status::Ok();
}

Status TreeCopier::BatchSymlink(const sys::Fd& opened, const sys::FileInfo& info,
                                const std::string& dest, Ticket parent) {
  ASSIGN_OR_RETURN(std::string target, env_->ReadlinkAt(opened, ""));
  const uint64_t bytes = target.size() + 2 * dest.size();
  RETURN_IF_ERROR(BatchFor(bytes, parent).status());
  ++stats_.entries;
  agent::CopyFileRequest r = CopyHeader(info, dest);
  r.data = std::move(target);
  batch_.ops.emplace_back(std::move(r));
  ASSIGN_OR_RETURN(auto attrs, CopyAttrs(env_, nullptr, info, dest));
  batch_.ops.emplace_back(std::move(attrs));
  batch_.bytes += bytes;
  return Status::Ok();
}

}  // namespace vmshare::share
