/*
 * vmshare.h: the C ABI of vmshare (libvmshare.so).
 *
 * vmshare shares a VM sandbox's container files with its guest (the role of
 * Kata Containers' FilesystemSharer) and keeps the sandbox's state on disk in
 * Kata's persist.json layout. This header is the stable boundary every other
 * language binds to: a sharer handle with the FilesystemSharer's eight
 * operations, and a store handle with the persist operations. Everything else
 * in the library is hidden; only the vmshare_* symbols are exported.
 *
 * Conventions, the same for every function:
 *
 *   Return value.  0 on success. On failure a negative errno-style code:
 *     -EINVAL  bad input: a NULL where a pointer is required, malformed JSON,
 *              a field of the wrong type, an unknown config key, an invalid
 *              sandbox or container id, a relative path;
 *     -ENOENT  something named does not exist (a mount's source, a sandbox
 *              or container with no record);
 *     -EBUSY   the sandbox lock is held by someone else;
 *     -EROFS, -EPERM, -EACCES  as the operating system reported them;
 *     -EIO     anything else (the message says what).
 *
 *   Error message.  When `error` is not NULL, a failing call stores in
 *     *error a malloc'd, NUL-terminated one-line message naming the
 *     operation and the object, e.g.
 *       share file "/srv/data" of container "c1": open "/srv/data": no such
 *       file or directory (ENOENT)
 *     with no program-name prefix. On success *error is set to NULL. The
 *     caller frees it with vmshare_free().
 *
 *   Ownership.  Every string the library returns (result JSON, error
 *     messages) is malloc'd and freed by the caller with vmshare_free().
 *     Strings passed in are only read during the call. A handle is owned by
 *     the caller from its *_open until its *_close.
 *
 *   Robustness.  No C++ exception ever leaves the library; an unexpected
 *     internal failure is -EIO with a message. A bad input changes nothing.
 *
 *   Thread safety.  A handle (vmshare_sharer, vmshare_store, vmshare_lock)
 *     may be used by one thread at a time; use separate handles, or your own
 *     mutex, from several threads. Distinct handles are independent. The one
 *     exception: a thread waiting in vmshare_store_lock() does not stop
 *     other threads from using the same store (except to close it).
 *     vmshare_version() and vmshare_free() may be called from any thread.
 *
 * JSON documents (UTF-8 text, one JSON object each):
 *
 *   Containers and mounts use persist.json's field names, so that a Go
 *   runtime can pass its persist structs through encoding/json unchanged:
 *     container_json  a container's persist.json document plus "ID":
 *                     {"ID": "c1", "State": "ready", "Rootfs": <Mount>,
 *                      "Mounts": [<Mount>...], "BundlePath": "...", ...}
 *     Mount           {"Source", "Destination", "Type", "Options",
 *                      "HostPath", "ReadOnly", "BlockDeviceID", "Mounted"}
 *   Absent (or null) fields take their zero values: {"ID": "c1"} is a valid
 *   container. Unknown keys are ignored, as Go's decoder ignores them.
 *
 *   Storages (what the guest agent mounts) use the agent's field names:
 *     {"driver", "driver_options", "source", "fstype", "options",
 *      "mount_point", "fs_group": null | {"group_id", "group_change_policy"}}
 *   A SharedFile is
 *     {"guest_path", "container_storages": [...], "volume_storages": [...]}
 */
#ifndef VMSHARE_VMSHARE_H
#define VMSHARE_VMSHARE_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH" (a static string; do not free). */
const char *vmshare_version(void);

/* Frees a string (or other memory) returned by the library. NULL does
 * nothing. */
void vmshare_free(void *p);

/* ------------------------------------------------------------------------
 * Sharer: Kata's FilesystemSharer for one sandbox.
 * ------------------------------------------------------------------------ */

typedef struct vmshare_sharer vmshare_sharer;

/* Opens a sharer for one sandbox. Touches no file: the sandbox is set up by
 * vmshare_prepare().
 *
 * config_json is an object with these keys (only sandbox_id is required):
 *   "sandbox_id"           string, the sandbox id
 *                          (^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$)
 *   "root"                 string, absolute; vmshare's root (default
 *                          "/run/vmshare"); state is kept in <root>/sbs
 *   "shared_fs"            "virtio-fs" (default) or "none" (copy files into
 *                          the guest over the agent channel)
 *   "sandbox_bind_mounts"  array of absolute host paths (directories or
 *                          regular files) shared read-only with every
 *                          container
 *   "guest_shared_dir"     string, where the guest mounts the share; only
 *                          the default, "/run/kata-containers/shared/containers",
 *                          is accepted for now (-EINVAL otherwise)
 *   "kubelet_root"         string, watched Kubernetes volumes live below
 *                          <kubelet_root>/pods (default "/var/lib/kubelet")
 *   "share_base"           string, absolute; when set, the share tree is
 *                          <share_base>/<sandbox_id>/{mounts,shared,private}
 *                          (Kata's layout) instead of
 *                          <root>/sandboxes/<sandbox_id>
 *   "rootfs_name"          string, the name of a container's rootfs
 *                          directory in the share (default "rootfs")
 *   "agent_socket"         string, a unix socket speaking the agent protocol;
 *                          needed by "none" and by the file event watcher
 *   "persist"              bool (default true): record the sandbox and each
 *                          share in the state store before it is mounted, as
 *                          the vmshare CLI does, so a crashed runtime can be
 *                          cleaned up (vmshare gc)
 * Unknown keys are refused.
 *
 * On success *out is a new handle, closed with vmshare_sharer_close().
 * Errors: -EINVAL (NULL config_json or out, malformed JSON, a key of the
 * wrong type, an unknown key, a missing or invalid sandbox_id, a relative
 * path, an unknown shared_fs); *out is then NULL. */
int vmshare_sharer_open(const char *config_json, vmshare_sharer **out, char **error);

/* Closes the handle: stops its file event watcher if one runs and frees it.
 * Leaves the sandbox's shares as they are (vmshare_cleanup() removes them).
 * NULL does nothing. */
void vmshare_sharer_close(vmshare_sharer *s);

/* FilesystemSharer.Prepare: makes the sandbox's share tree and its sandbox
 * bind mounts. Idempotent: may be called repeatedly without cleanup in
 * between; a second call adds no mount. With "persist", records the sandbox
 * first if it has no record; a new sandbox whose prepare fails is removed
 * again (mounts, directories and record).
 * Errors: -EINVAL (NULL s), -ENOENT (a sandbox bind mount's source is
 * missing), -EBUSY (the sandbox lock is held), -EPERM/-EACCES/-EROFS, -EIO
 * (among others: the sandbox is recorded with other settings). */
int vmshare_prepare(vmshare_sharer *s, char **error);

/* FilesystemSharer.Cleanup: takes the sandbox's share tree down, including
 * shares that were never unshared; afterwards nothing of the sandbox is
 * mounted and its share directory is gone. With "persist", the containers
 * recorded for the sandbox are unshared first and the sandbox's record is
 * removed. Idempotent: may be called repeatedly, or without prepare.
 * Errors: -EINVAL (NULL s), -EBUSY (the sandbox lock is held), -EIO
 * (something is still mounted inside the tree: nothing below it is
 * removed). */
int vmshare_cleanup(vmshare_sharer *s, char **error);

/* FilesystemSharer.ShareFile: shares one container file or directory
 * (mount_json's Source, a host path) with the guest.
 *
 * container_json is the container (see above; only "ID" is needed),
 * mount_json one Mount. With "persist", the container's record gets the
 * mount before it is mounted: it is added to the record's Mounts, or
 * replaces the entry with the same HostPath (or an unshared entry with the
 * same Source and Destination); a container without a record is recorded
 * from container_json. A refused share leaves the record as it was.
 *
 * On success *result_json (when result_json is not NULL) is
 *   {"mount": <the Mount, with HostPath and Mounted set>,
 *    "shared_file": <SharedFile> | null}
 * where null means the guest must ignore this mount (the seed's nil
 * SharedFile). Free it with vmshare_free().
 * Errors: -EINVAL (NULL s, container_json or mount_json, malformed JSON, bad
 * container id, relative or symlinked source, unusable destination), -ENOENT
 * (the source does not exist; with "persist", the sandbox has no record:
 * vmshare_prepare() was not called), -EBUSY (the sandbox lock is held),
 * -EPERM/-EACCES/-EROFS, -EIO (among others: the mount is already shared,
 * or the sandbox is not prepared).
 * On error nothing is left mounted or created and *result_json is NULL. */
int vmshare_share_file(vmshare_sharer *s, const char *container_json, const char *mount_json,
                       char **result_json, char **error);

/* FilesystemSharer.UnshareFile: stops sharing what vmshare_share_file()
 * shared for mount_json (found by its HostPath): unmounts it and removes its
 * mountpoint. A mount that is no longer mounted is not an error. With
 * "persist", the record's entry with that HostPath is marked unmounted.
 * Errors: -EINVAL (NULL argument, malformed JSON, a HostPath outside this
 * container's part of the share tree: nothing is unmounted), -EBUSY, -EIO. */
int vmshare_unshare_file(vmshare_sharer *s, const char *container_json, const char *mount_json,
                         char **error);

/* FilesystemSharer.ShareRootFilesystem: shares container_json's Rootfs with
 * the guest. With "persist", the container is recorded (from container_json
 * when it has no record) before anything is mounted.
 *
 * On success *result_json (when result_json is not NULL) is
 *   {"rootfs": <the Rootfs Mount, HostPath and Mounted set when a host mount
 *               was made>,
 *    "shared_file": <SharedFile: guest_path is the rootfs in the guest,
 *                    container_storages what the agent mounts first>}
 * Free it with vmshare_free().
 * Errors: as vmshare_share_file(). */
int vmshare_share_rootfs(vmshare_sharer *s, const char *container_json, char **result_json,
                         char **error);

/* FilesystemSharer.UnshareRootFilesystem: stops sharing the container's
 * rootfs; afterwards nothing of it is mounted or on disk. Idempotent. With
 * "persist", the record's Rootfs is marked unmounted.
 * Errors: -EINVAL (NULL argument, malformed JSON, bad id), -EBUSY, -EIO. */
int vmshare_unshare_rootfs(vmshare_sharer *s, const char *container_json, char **error);

/* FilesystemSharer.StartFileEventWatcher: starts watching the Kubernetes
 * configmap, secret, projected and downward-API volumes shared so far (and
 * those recorded for the sandbox) and copying every change into the guest,
 * from a thread of its own, over "agent_socket". Idempotent.
 * Errors: -EINVAL (NULL s), -EIO (among others: no agent_socket). */
int vmshare_start_file_event_watcher(vmshare_sharer *s, char **error);

/* FilesystemSharer.StopFileEventWatcher: stops the watcher and waits for its
 * thread. Safe when none runs; NULL does nothing. */
void vmshare_stop_file_event_watcher(vmshare_sharer *s);

/* ------------------------------------------------------------------------
 * Store: sandbox and container state in Kata's persist.json layout,
 *   <root>/sbs/<sandbox_id>/persist.json
 *   <root>/sbs/<sandbox_id>/<container_id>/persist.json
 * Every write is atomic and durable (a crash leaves the old or the new
 * document). The store functions do not lock: a writer holds
 * vmshare_store_lock(VMSHARE_LOCK_EXCLUSIVE), a reader VMSHARE_LOCK_SHARED,
 * for as long as it needs (a sharer with "persist" takes the same lock, so it
 * gets -EBUSY while you hold it).
 * ------------------------------------------------------------------------ */

typedef struct vmshare_store vmshare_store;
typedef struct vmshare_lock vmshare_lock;

/* Opens the store. config_json is an object with the optional key "root"
 * (absolute; default "/run/vmshare"): the store lives in <root>/sbs, where a
 * sharer with the same root records. Touches no file. Close with
 * vmshare_store_close().
 * Errors: -EINVAL (NULL config_json or out, malformed JSON, unknown key,
 * relative root); *out is then NULL. */
int vmshare_store_open(const char *config_json, vmshare_store **out, char **error);

/* Frees the handle. Locks taken through it stay valid until unlocked. NULL
 * does nothing. */
void vmshare_store_close(vmshare_store *st);

/* Writes the sandbox's persist.json from sandbox_json, a sandbox document in
 * persist.json's field names ({"State", "SandboxContainer",
 * "PersistVersion", ...}; a missing PersistVersion means the current one),
 * creating the sandbox's directory. Keys of the existing document that
 * vmshare does not know are kept, and so are vmshare's own settings (the
 * "Vmshare" key a sharer records) when sandbox_json has none.
 * Errors: -EINVAL (NULL argument, malformed JSON, bad id, an unsupported
 * PersistVersion), -EIO. */
int vmshare_store_save_sandbox(vmshare_store *st, const char *sandbox_id, const char *sandbox_json,
                               char **error);

/* Writes one container's persist.json from container_json (with "ID"),
 * touching no other container's file: O(1) in the number of containers.
 * Errors: -EINVAL (NULL argument, malformed JSON, bad id), -ENOENT (the
 * sandbox has no directory: save the sandbox first), -EIO. */
int vmshare_store_save_container(vmshare_store *st, const char *sandbox_id,
                                 const char *container_json, char **error);

/* Loads the sandbox with all its containers. On success *sandbox_json is
 *   {"sandbox": <sandbox document>,
 *    "containers": {"<container id>": <container document plus "ID">, ...}}
 * in persist.json's field names; free it with vmshare_free().
 * Errors: -EINVAL (NULL argument, bad id), -ENOENT (no such sandbox), -EIO
 * (among others: a document on disk is corrupt; the message names it). */
int vmshare_store_load_sandbox(vmshare_store *st, const char *sandbox_id, char **sandbox_json,
                               char **error);

/* Removes one container's record. Not an error when it does not exist.
 * Errors: -EINVAL (NULL argument, bad id), -EIO. */
int vmshare_store_remove_container(vmshare_store *st, const char *sandbox_id,
                                   const char *container_id, char **error);

/* Removes the sandbox's record and every container's, never crossing into a
 * mount. Not an error when it does not exist.
 * Errors: -EINVAL (NULL argument, bad id), -EIO. */
int vmshare_store_destroy_sandbox(vmshare_store *st, const char *sandbox_id, char **error);

/* Lock modes for vmshare_store_lock(): one of SHARED or EXCLUSIVE, or'ed
 * with NONBLOCK to fail at once instead of waiting. */
#define VMSHARE_LOCK_SHARED 0
#define VMSHARE_LOCK_EXCLUSIVE 1
#define VMSHARE_LOCK_NONBLOCK 2

/* Locks the sandbox (creating its directory when missing, so a new sandbox
 * can be locked before its first save). The lock is flock(2) on the
 * sandbox's state directory, so it excludes other processes (a Kata runtime
 * too) as well as other handles of this process. Without NONBLOCK, waits for
 * a conflicting holder. On success *out is the lock, released (and freed) by
 * vmshare_store_unlock().
 * Errors: -EINVAL (NULL argument, bad id, unknown flag bits), -EBUSY (with
 * NONBLOCK, a conflicting holder), -EIO. */
int vmshare_store_lock(vmshare_store *st, const char *sandbox_id, int flags, vmshare_lock **out,
                       char **error);

/* Releases and frees the lock. NULL does nothing. */
void vmshare_store_unlock(vmshare_lock *lock);

#ifdef __cplusplus
}
#endif

#endif /* VMSHARE_VMSHARE_H */
