package vmshare

/*
#include <stdlib.h>
#include <vmshare/vmshare.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"sync"
)

// Store is vmshare's persist store (Root/sbs/<sid>/persist.json and one
// file per container), with Kata's PersistDriver verbs. Its methods do not
// lock the sandbox: hold Lock(sid, true) around writes, as Kata's callers do.
// Methods may be called from any goroutine; they are serialised.
type Store struct {
	mu sync.Mutex
	h  *C.vmshare_store
}

// OpenStore opens the store below vmshare's root ("" means /run/vmshare).
// It touches no file.
func OpenStore(root string) (*Store, error) {
	cfg := map[string]string{}
	if root != "" {
		cfg["root"] = root
	}
	doc, _ := json.Marshal(cfg)
	c, free := cstring(string(doc))
	defer free()
	var h *C.vmshare_store
	var msg *C.char
	if err := check("vmshare_store_open", C.vmshare_store_open(c, &h, &msg), msg); err != nil {
		return nil, err
	}
	return &Store{h: h}, nil
}

// Close frees the store. Locks taken through it stay held until released.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		C.vmshare_store_close(s.h)
		s.h = nil
	}
	return nil
}

func (s *Store) call(op string, f func(h *C.vmshare_store, msg **C.char) C.int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return invalid(op, op+": store is closed")
	}
	var msg *C.char
	return check(op, f(s.h, &msg), msg)
}

func (s *Store) saveSandbox(sid string, ss SandboxState) error {
	const op = "vmshare_store_save_sandbox"
	doc, err := json.Marshal(ss)
	if err != nil {
		return invalid(op, fmt.Sprintf("save sandbox %q: %v", sid, err))
	}
	if ss.PersistVersion == 0 {
		// The zero value means "the current version", as for a new state.
		var m map[string]json.RawMessage
		_ = json.Unmarshal(doc, &m)
		delete(m, "PersistVersion")
		doc, _ = json.Marshal(m)
	}
	csid, free1 := cstring(sid)
	defer free1()
	cdoc, free2 := cstring(string(doc))
	defer free2()
	return s.call(op, func(h *C.vmshare_store, msg **C.char) C.int {
		return C.vmshare_store_save_sandbox(h, csid, cdoc, msg)
	})
}

// SaveContainer writes one container's state, and no other file: O(1) in
// the number of containers. The sandbox must have been saved before.
func (s *Store) SaveContainer(sid, cid string, cs ContainerState) error {
	const op = "vmshare_store_save_container"
	doc, err := json.Marshal(Container{ID: cid, ContainerState: cs})
	if err != nil {
		return invalid(op, fmt.Sprintf("save container %q: %v", cid, err))
	}
	csid, free1 := cstring(sid)
	defer free1()
	cdoc, free2 := cstring(string(doc))
	defer free2()
	return s.call(op, func(h *C.vmshare_store, msg **C.char) C.int {
		return C.vmshare_store_save_container(h, csid, cdoc, msg)
	})
}

// RemoveContainer removes one container's state; not an error when missing.
func (s *Store) RemoveContainer(sid, cid string) error {
	csid, free1 := cstring(sid)
	defer free1()
	ccid, free2 := cstring(cid)
	defer free2()
	return s.call("vmshare_store_remove_container", func(h *C.vmshare_store, msg **C.char) C.int {
		return C.vmshare_store_remove_container(h, csid, ccid, msg)
	})
}

// ToDisk saves the sandbox ss.SandboxContainer names and every container of
// cs, and removes the containers recorded for it that cs no longer has (as
// Kata's PersistDriver does).
func (s *Store) ToDisk(ss SandboxState, cs map[string]ContainerState) error {
	sid := ss.SandboxContainer
	if sid == "" {
		return invalid("vmshare_store_save_sandbox", "save sandbox: SandboxContainer (the sandbox id) is empty")
	}
	if err := s.saveSandbox(sid, ss); err != nil {
		return err
	}
	for cid, c := range cs {
		if err := s.SaveContainer(sid, cid, c); err != nil {
			return err
		}
	}
	_, recorded, err := s.FromDisk(sid)
	if err != nil {
		return err
	}
	for cid := range recorded {
		if _, keep := cs[cid]; !keep {
			if err := s.RemoveContainer(sid, cid); err != nil {
				return err
			}
		}
	}
	return nil
}

// FromDisk loads the sandbox and all its containers. A missing sandbox is
// an error wrapping ENOENT (errors.Is(err, fs.ErrNotExist)).
func (s *Store) FromDisk(sid string) (SandboxState, map[string]ContainerState, error) {
	const op = "vmshare_store_load_sandbox"
	csid, free := cstring(sid)
	defer free()
	var out *C.char
	err := s.call(op, func(h *C.vmshare_store, msg **C.char) C.int {
		return C.vmshare_store_load_sandbox(h, csid, &out, msg)
	})
	if err != nil {
		return SandboxState{}, nil, err
	}
	var doc struct {
		Sandbox    SandboxState               `json:"sandbox"`
		Containers map[string]json.RawMessage `json:"containers"`
	}
	if err := json.Unmarshal([]byte(takeString(out)), &doc); err != nil {
		return SandboxState{}, nil, fmt.Errorf("load sandbox %q: %w", sid, err)
	}
	cs := make(map[string]ContainerState, len(doc.Containers))
	for cid, raw := range doc.Containers {
		c, err := decodeContainerState(raw)
		if err != nil {
			return SandboxState{}, nil, fmt.Errorf("load sandbox %q: container %q: %w", sid, cid, err)
		}
		cs[cid] = c
	}
	return doc.Sandbox, cs, nil
}

// Destroy removes the sandbox's state and every container's; not an error
// when missing.
func (s *Store) Destroy(sid string) error {
	csid, free := cstring(sid)
	defer free()
	return s.call("vmshare_store_destroy_sandbox", func(h *C.vmshare_store, msg **C.char) C.int {
		return C.vmshare_store_destroy_sandbox(h, csid, msg)
	})
}

// Lock locks the sandbox, exclusive or shared, waiting for a conflicting
// holder; the returned function releases it (once).
func (s *Store) Lock(sid string, exclusive bool) (func() error, error) {
	return s.lock(sid, exclusive, false)
}

// TryLock is Lock without waiting: a conflicting holder gives an error
// wrapping EBUSY.
func (s *Store) TryLock(sid string, exclusive bool) (func() error, error) {
	return s.lock(sid, exclusive, true)
}

func (s *Store) lock(sid string, exclusive, nonblocking bool) (func() error, error) {
	const op = "vmshare_store_lock"
	var flags C.int = C.VMSHARE_LOCK_SHARED
	if exclusive {
		flags = C.VMSHARE_LOCK_EXCLUSIVE
	}
	if nonblocking {
		flags |= C.VMSHARE_LOCK_NONBLOCK
	}
	csid, free := cstring(sid)
	defer free()
	// Not under s.mu: a blocking lock must not stop other calls (the one
	// that releases the holder, say).
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		return nil, invalid(op, op+": store is closed")
	}
	var l *C.vmshare_lock
	var msg *C.char
	if err := check(op, C.vmshare_store_lock(h, csid, flags, &l, &msg), msg); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() error {
		once.Do(func() { C.vmshare_store_unlock(l) })
		return nil
	}, nil
}
