// Package vmshare is the Go binding of libvmshare, vmshare's C ABI
// (include/vmshare/vmshare.h): a Sharer with Kata Containers'
// FilesystemSharer methods, and a Store with Kata's PersistDriver verbs over
// vmshare's crash-safe persist.json store.
//
// It is built with cgo against the installed library, found with
// pkg-config (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig when vmshare is not
// installed under /usr). It uses the standard library only.
//
// Errors are *Error values wrapping the errno the library returned, so that
// errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.EBUSY) and the like
// work.
//
// The library's calls are not cancellable: a method checks its context
// before it starts and then runs to completion.
package vmshare

/*
#cgo pkg-config: vmshare
#include <stdlib.h>
#include <vmshare/vmshare.h>
*/
import "C"

import (
	"context"
	"unsafe"
)

// Version is libvmshare's version.
func Version() string { return C.GoString(C.vmshare_version()) }

// cstring is a C copy of s, freed by the returned function.
func cstring(s string) (*C.char, func()) {
	p := C.CString(s)
	return p, func() { C.free(unsafe.Pointer(p)) }
}

// started reports a context that is already done as the error to return.
func started(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
