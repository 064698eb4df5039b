package vmshare

/*
#include <stdlib.h>
#include <vmshare/vmshare.h>
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// Error is a failure reported by libvmshare. It wraps the errno the C ABI
// returned, so errors.Is(err, fs.ErrNotExist) holds for a missing source,
// errors.Is(err, syscall.EBUSY) for a held sandbox lock, and so on.
type Error struct {
	// Op is the C function that failed, e.g. "vmshare_share_file".
	Op string
	// Errno is the (positive) errno the function returned.
	Errno syscall.Errno
	// Message names the operation and the object, as the library wrote it.
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Op + ": " + e.Errno.Error()
	}
	return e.Message
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// check turns a C ABI return code and message into an error (nil for 0),
// freeing the message.
func check(op string, rc C.int, msg *C.char) error {
	var text string
	if msg != nil {
		text = C.GoString(msg)
		C.vmshare_free(unsafe.Pointer(msg))
	}
	if rc == 0 {
		return nil
	}
	return &Error{Op: op, Errno: syscall.Errno(-rc), Message: text}
}

// invalid is an error of this package's own argument checks (EINVAL).
func invalid(op, message string) error {
	return &Error{Op: op, Errno: syscall.EINVAL, Message: message}
}

// takeString copies and frees a string the library returned.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.vmshare_free(unsafe.Pointer(p))
	return s
}
