// CopyFile in the guest: Kata's semantics, confined to the shared directory.
//
// request.path must be kGuestSharedDir ("/run/kata-containers/shared/
// containers") followed by at least one component; that prefix stands for
// `shared_root` on disk (the same directory unless tests move it). The rest
// is resolved under the root with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_SYMLINKS): a ".." component, or any symlink among the parent
// directories (one planted by an earlier CopyFile included), is refused with
// kInvalidArgument / kPermissionDenied and nothing is written. The final
// component is never followed: a symlink there is replaced, not written
// through.
//
// By the S_IFMT bits of file_mode:
//   directory  created (an existing non-directory there is removed), chmod
//              file_mode & 07777, chown uid:gid; data ignored
//   symlink    the old entry removed, a link to `data` created, lchown
//   otherwise  a regular file: data is written at offset into the temp file
//              ".vmshare-tmp.<name>" in the same directory (offset 0
//              truncates it); once it holds file_size bytes it is chmod'ed,
//              chown'ed and renamed over <name>. Until then the old file, if
//              any, stays visible: the replacement is atomic.
// Missing parents are created with dir_mode & 0777; the immediate parent is
// chowned to uid:gid. Names starting with ".vmshare-tmp." are reserved for
// temp files and refused, so two files of one directory never share a temp.
#pragma once

#include <string>
#include <string_view>

#include "agent/messages.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

inline constexpr char kCopyTempPrefix[] = ".vmshare-tmp.";

Status CopyFile(sys::Env* env, const std::string& shared_root, const CopyFileRequest& request);
// The same with the chunk apart from its header (whose data is ignored): the
// guest's CopyFile writes it from the request's frame (DecodeCopyFileRequestView).
Status CopyFile(sys::Env* env, const std::string& shared_root, const CopyFileRequest& header,
                std::string_view data);

// The parts of CopyFile that work on an already-resolved parent directory;
// vmshare's Batch (batch_apply.cc) applies its copies with them too.
//
// Both take the chunk's bytes as `data`, the rest from `header` (whose own
// data is ignored).
//
// kInvalidArgument unless the chunk (header.offset, data) lies within
// header.file_size.
Status CheckCopyChunk(const CopyFileRequest& header, std::string_view data);
// Writes a regular file's chunk into the temp file beside `name` and, once
// it holds file_size bytes, chowns, chmods and renames it over `name` (an
// empty directory there is removed first). REQUIRES: CheckCopyChunk ok.
Status CopyThroughTemp(sys::Env* env, const sys::Fd& parent, const std::string& name,
                       const CopyFileRequest& header, std::string_view data);
// Removes a non-directory, or an empty directory; a missing one is fine.
Status RemoveEntry(sys::Env* env, const sys::Fd& dir, const std::string& name);

}  // namespace vmshare::agent
