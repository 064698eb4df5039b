package vmshare

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// The persisted types below mirror Kata Containers'
// virtcontainers/persist/api/container.go field for field, with the same
// names (Go's default JSON encoding is then persist.json's), so that a
// runtime's own persist structs convert, or marshal, straight into them.

// DeviceMap saves how a host device maps to a container device.
type DeviceMap struct {
	// ID references the VM device.
	ID string
	// ContainerPath is the device path seen in the container.
	ContainerPath string
	// FileMode holds the device's permission bits.
	FileMode os.FileMode
	// UID is the user ID in the container namespace.
	UID uint32
	// GID is the group ID in the container namespace.
	GID uint32
}

// Mount describes a container mount (and a container's rootfs).
type Mount struct {
	Source      string
	Destination string
	// Type is the filesystem type.
	Type string
	// Options lists the mount options.
	Options []string
	// HostPath is the host side bind mount path, once shared.
	HostPath string
	// BlockDeviceID is set when the mount is backed by a VM block device.
	BlockDeviceID string
	// ReadOnly says whether the mount is read only.
	ReadOnly bool
	// Mounted says whether the host side mount exists.
	Mounted bool
}

// RootfsState is Kata 3.x's shape of a container's rootfs in persist.json;
// vmshare writes the Rootfs as a full Mount plus FsType, which both shapes
// decode.
type RootfsState struct {
	BlockDeviceID string
	FsType        string
}

// RootfsState returns the Kata 3.x view of a rootfs mount.
func (m Mount) RootfsState() RootfsState {
	if m.BlockDeviceID == "" {
		return RootfsState{}
	}
	return RootfsState{BlockDeviceID: m.BlockDeviceID, FsType: m.Type}
}

// Process gathers data related to a container process.
type Process struct {
	// Token is the process execution context ID, unique per sandbox.
	Token string
	// Pid is the host pid (typically the shim's).
	Pid       int
	StartTime time.Time
}

// ContainerState is a container's persisted state.
type ContainerState struct {
	// State is the container's status ("ready", "running", ...).
	State string
	// Rootfs describes the container's root filesystem.
	Rootfs Mount
	// CgroupPath is the cgroup hierarchy of the container's processes.
	CgroupPath string
	// DeviceMaps maps sandbox devices into the container.
	DeviceMaps []DeviceMap
	// Mounts are the OCI spec's mounts.
	Mounts []Mount
	// Process are the container's processes as the host sees them.
	Process []Process
	// BundlePath is the OCI bundle directory.
	BundlePath string
}

// Container is what the sharer is given: an id and the container's state.
// It marshals as the container's persist.json document plus "ID", the shape
// of the C ABI's container_json.
type Container struct {
	ID string
	ContainerState
}

// SandboxState is the part of a sandbox's persist.json that vmshare reads
// (Kata's SandboxState has these fields among many).
type SandboxState struct {
	PersistVersion   uint
	State            string
	SandboxContainer string
}

// FSGroup is a Storage's fsGroup (the agent's FSGroup).
type FSGroup struct {
	GroupID           uint32 `json:"group_id"`
	GroupChangePolicy int    `json:"group_change_policy"`
}

// Storage is what the guest agent mounts (the agent's grpc.Storage).
type Storage struct {
	Driver        string   `json:"driver"`
	DriverOptions []string `json:"driver_options"`
	Source        string   `json:"source"`
	Fstype        string   `json:"fstype"`
	Options       []string `json:"options"`
	MountPoint    string   `json:"mount_point"`
	FSGroup       *FSGroup `json:"fs_group"`
}

// SharedFile is the outcome of sharing a host file with the guest.
type SharedFile struct {
	ContainerStorages []*Storage `json:"container_storages"`
	VolumeStorages    []*Storage `json:"volume_storages"`
	GuestPath         string     `json:"guest_path"`
}

// decodeContainerState reads a container document as vmshare writes it:
// "Process" is one object (Kata 3.x) or an array (Kata 2.x), and more than
// one process sits under "Vmshare".
func decodeContainerState(doc []byte) (ContainerState, error) {
	var raw struct {
		ContainerState
		Process json.RawMessage
		Vmshare struct {
			Processes []Process
		}
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return ContainerState{}, fmt.Errorf("decode container state: %w", err)
	}
	cs := raw.ContainerState
	cs.Process = nil
	switch {
	case len(raw.Vmshare.Processes) > 0:
		cs.Process = raw.Vmshare.Processes
	case len(raw.Process) > 0 && raw.Process[0] == '[':
		if err := json.Unmarshal(raw.Process, &cs.Process); err != nil {
			return ContainerState{}, fmt.Errorf("decode container state: Process: %w", err)
		}
	case len(raw.Process) > 0 && raw.Process[0] == '{':
		var p Process
		if err := json.Unmarshal(raw.Process, &p); err != nil {
			return ContainerState{}, fmt.Errorf("decode container state: Process: %w", err)
		}
		if p.Token != "" || p.Pid != 0 || !p.StartTime.IsZero() {
			cs.Process = []Process{p}
		}
	}
	return cs, nil
}
