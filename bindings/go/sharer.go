package vmshare

/*
#include <stdlib.h>
#include <vmshare/vmshare.h>
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Config configures a Sharer (the C ABI's config_json; empty fields take the
// library's defaults).
type Config struct {
	// SandboxID is required.
	SandboxID string `json:"sandbox_id"`
	// Root is vmshare's root (default /run/vmshare); state lives in Root/sbs.
	Root string `json:"root,omitempty"`
	// SharedFS is "virtio-fs" (default) or "none" (copy over the agent).
	SharedFS string `json:"shared_fs,omitempty"`
	// SandboxBindMounts are host paths shared read-only with every container.
	SandboxBindMounts []string `json:"sandbox_bind_mounts,omitempty"`
	// GuestSharedDir is where the guest mounts the share.
	GuestSharedDir string `json:"guest_shared_dir,omitempty"`
	// KubeletRoot is where watched Kubernetes volumes live (below pods/).
	KubeletRoot string `json:"kubelet_root,omitempty"`
	// ShareBase, when set, puts the share tree at ShareBase/<sid> (Kata's
	// layout) instead of Root/sandboxes/<sid>.
	ShareBase string `json:"share_base,omitempty"`
	// RootfsName is the name of a container's rootfs directory (default
	// "rootfs").
	RootfsName string `json:"rootfs_name,omitempty"`
	// AgentSocket is a unix socket speaking the agent protocol (copy mode
	// and the file event watcher need it).
	AgentSocket string `json:"agent_socket,omitempty"`
	// Persist, when false, records nothing (default true: every share is
	// recorded before it is mounted, under the sandbox lock).
	Persist *bool `json:"persist,omitempty"`
}

// Sharer is Kata's FilesystemSharer for one sandbox, over libvmshare. Its
// methods may be called from any goroutine; they are serialised.
type Sharer struct {
	mu sync.Mutex
	h  *C.vmshare_sharer // nil once closed
}

// NewSharer opens a sharer for cfg's sandbox. It touches no file.
func NewSharer(cfg Config) (*Sharer, error) {
	doc, err := json.Marshal(cfg)
	if err != nil {
		return nil, invalid("vmshare_sharer_open", fmt.Sprintf("open sharer: %v", err))
	}
	c, free := cstring(string(doc))
	defer free()
	var h *C.vmshare_sharer
	var msg *C.char
	if err := check("vmshare_sharer_open", C.vmshare_sharer_open(c, &h, &msg), msg); err != nil {
		return nil, err
	}
	return &Sharer{h: h}, nil
}

// Close stops the watcher and frees the sharer; the sandbox's shares stay
// (Cleanup removes them). Closing twice is not an error.
func (s *Sharer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		C.vmshare_sharer_close(s.h)
		s.h = nil
	}
	return nil
}

// call runs f on the open handle, serialised, after checking ctx.
func (s *Sharer) call(ctx context.Context, op string, f func(h *C.vmshare_sharer, msg **C.char) C.int) error {
	if err := started(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return invalid(op, op+": sharer is closed")
	}
	var msg *C.char
	return check(op, f(s.h, &msg), msg)
}

// Prepare sets the sandbox's share tree up. Idempotent.
func (s *Sharer) Prepare(ctx context.Context) error {
	return s.call(ctx, "vmshare_prepare", func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_prepare(h, msg)
	})
}

// Cleanup takes the share tree down, including shares never unshared.
// Idempotent.
func (s *Sharer) Cleanup(ctx context.Context) error {
	return s.call(ctx, "vmshare_cleanup", func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_cleanup(h, msg)
	})
}

func marshalArgs(op string, c *Container, m *Mount) (string, string, error) {
	if c == nil {
		return "", "", invalid(op, op+": container is nil")
	}
	cj, err := json.Marshal(c)
	if err != nil {
		return "", "", invalid(op, fmt.Sprintf("%s: container %q: %v", op, c.ID, err))
	}
	if m == nil {
		return string(cj), "", nil
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return "", "", invalid(op, fmt.Sprintf("%s: mount %q: %v", op, m.Source, err))
	}
	return string(cj), string(mj), nil
}

// ShareFile shares m.Source with the guest for container c. On success m's
// HostPath and Mounted are set. A nil SharedFile (with a nil error) means
// the guest must ignore this mount.
func (s *Sharer) ShareFile(ctx context.Context, c *Container, m *Mount) (*SharedFile, error) {
	const op = "vmshare_share_file"
	if m == nil {
		return nil, invalid(op, op+": mount is nil")
	}
	cj, mj, err := marshalArgs(op, c, m)
	if err != nil {
		return nil, err
	}
	ccj, free1 := cstring(cj)
	defer free1()
	cmj, free2 := cstring(mj)
	defer free2()
	var out *C.char
	err = s.call(ctx, op, func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_share_file(h, ccj, cmj, &out, msg)
	})
	if err != nil {
		return nil, err
	}
	var result struct {
		Mount      Mount       `json:"mount"`
		SharedFile *SharedFile `json:"shared_file"`
	}
	if err := json.Unmarshal([]byte(takeString(out)), &result); err != nil {
		return nil, fmt.Errorf("%s: decode result: %w", op, err)
	}
	*m = result.Mount
	return result.SharedFile, nil
}

// UnshareFile stops sharing m (found by its HostPath): it is unmounted and
// its mountpoint removed. On success m.Mounted is false.
func (s *Sharer) UnshareFile(ctx context.Context, c *Container, m *Mount) error {
	const op = "vmshare_unshare_file"
	if m == nil {
		return invalid(op, op+": mount is nil")
	}
	cj, mj, err := marshalArgs(op, c, m)
	if err != nil {
		return err
	}
	ccj, free1 := cstring(cj)
	defer free1()
	cmj, free2 := cstring(mj)
	defer free2()
	err = s.call(ctx, op, func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_unshare_file(h, ccj, cmj, msg)
	})
	if err == nil {
		m.Mounted = false
	}
	return err
}

// ShareRootFilesystem shares c.Rootfs with the guest; on success c.Rootfs
// is the shared mount.
func (s *Sharer) ShareRootFilesystem(ctx context.Context, c *Container) (*SharedFile, error) {
	const op = "vmshare_share_rootfs"
	cj, _, err := marshalArgs(op, c, nil)
	if err != nil {
		return nil, err
	}
	ccj, free := cstring(cj)
	defer free()
	var out *C.char
	err = s.call(ctx, op, func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_share_rootfs(h, ccj, &out, msg)
	})
	if err != nil {
		return nil, err
	}
	var result struct {
		Rootfs     Mount       `json:"rootfs"`
		SharedFile *SharedFile `json:"shared_file"`
	}
	if err := json.Unmarshal([]byte(takeString(out)), &result); err != nil {
		return nil, fmt.Errorf("%s: decode result: %w", op, err)
	}
	c.Rootfs = result.Rootfs
	return result.SharedFile, nil
}

// UnshareRootFilesystem stops sharing c's rootfs. Idempotent.
func (s *Sharer) UnshareRootFilesystem(ctx context.Context, c *Container) error {
	const op = "vmshare_unshare_rootfs"
	cj, _, err := marshalArgs(op, c, nil)
	if err != nil {
		return err
	}
	ccj, free := cstring(cj)
	defer free()
	err = s.call(ctx, op, func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_unshare_rootfs(h, ccj, msg)
	})
	if err == nil {
		c.Rootfs.Mounted = false
	}
	return err
}

// StartFileEventWatcher starts copying changes of watched Kubernetes volumes
// into the guest. Idempotent.
func (s *Sharer) StartFileEventWatcher(ctx context.Context) error {
	return s.call(ctx, "vmshare_start_file_event_watcher", func(h *C.vmshare_sharer, msg **C.char) C.int {
		return C.vmshare_start_file_event_watcher(h, msg)
	})
}

// StopFileEventWatcher stops the watcher; safe when none runs.
func (s *Sharer) StopFileEventWatcher(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		C.vmshare_stop_file_event_watcher(s.h)
	}
}
