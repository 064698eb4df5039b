package vmshare

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nsEnv = "VMSHARE_GO_TEST_IN_NAMESPACE"

// TestMain runs the tests in a private mount namespace when root: a Go
// process cannot reliably unshare(CLONE_NEWNS) itself (its threads), so the
// test binary re-executes itself under unshare(1). Nothing a test mounts
// reaches the machine.
func TestMain(m *testing.M) {
	if os.Geteuid() == 0 && os.Getenv(nsEnv) == "" {
		args := append([]string{"-m", "--propagation", "private", os.Args[0]}, os.Args[1:]...)
		cmd := exec.Command("unshare", args...)
		cmd.Env = append(os.Environ(), nsEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				os.Exit(exit.ExitCode())
			}
			os.Stderr.WriteString("re-exec under unshare: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(nsEnv) == "" {
		t.Skip("needs root (mounts, in a private mount namespace)")
	}
}

// mountsUnder lists the mountpoints below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

type fixture struct {
	dir, root, src string
	sharer         *Sharer
	store          *Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.root = filepath.Join(f.dir, "root")
	f.src = filepath.Join(f.dir, "src")
	if err := os.MkdirAll(f.src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.src, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.sharer, err = NewSharer(Config{SandboxID: "s1", Root: f.root}); err != nil {
		t.Fatal(err)
	}
	if f.store, err = OpenStore(f.root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.sharer.Cleanup(context.Background()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if left := mountsUnder(t, f.dir); len(left) > 0 {
			t.Errorf("mounts left behind: %v", left)
		}
		f.sharer.Close()
		f.store.Close()
	})
	return f
}

func TestVersion(t *testing.T) {
	if v := Version(); len(strings.Split(v, ".")) != 3 {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
}

func TestShareLifecycle(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	f := newFixture(t)
	if err := f.sharer.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.sharer.Prepare(ctx); err != nil {
		t.Fatalf("second Prepare: %v", err)
	}
	c := &Container{ID: "c1"}

	rw := &Mount{Source: f.src, Destination: "/data", Type: "bind"}
	shared, err := f.sharer.ShareFile(ctx, c, rw)
	if err != nil {
		t.Fatal(err)
	}
	if shared == nil || !strings.HasPrefix(shared.GuestPath, "/run/kata-containers/shared/containers/c1-") {
		t.Fatalf("ShareFile gave %+v", shared)
	}
	if !rw.Mounted || rw.HostPath == "" {
		t.Fatalf("mount after ShareFile: %+v", rw)
	}
	if err := os.WriteFile(filepath.Join(rw.HostPath, "written"), []byte("x"), 0o644); err != nil {
		t.Fatalf("write through a read-write share: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.src, "written")); err != nil {
		t.Fatalf("the write did not reach the source: %v", err)
	}
	_, states, err := f.store.FromDisk("s1")
	if err != nil {
		t.Fatal(err)
	}
	if got := states["c1"].Mounts; len(got) != 1 || got[0].HostPath != rw.HostPath || !got[0].Mounted {
		t.Fatalf("recorded mounts %+v, want the share", got)
	}

	ro := &Mount{Source: f.src, Destination: "/ro", ReadOnly: true}
	if _, err := f.sharer.ShareFile(ctx, c, ro); err != nil {
		t.Fatal(err)
	}
	err = os.WriteFile(filepath.Join(ro.HostPath, "nope"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write through a read-only share: %v, want EROFS", err)
	}

	if err := f.sharer.UnshareFile(ctx, c, rw); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(rw.HostPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("mountpoint %s after UnshareFile: %v", rw.HostPath, err)
	}
	if rw.Mounted {
		t.Fatal("Mounted still set after UnshareFile")
	}

	c2 := &Container{ID: "c2", ContainerState: ContainerState{Rootfs: Mount{Source: f.src, Destination: "/", Type: "bind"}}}
	root, err := f.sharer.ShareRootFilesystem(ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	if root.GuestPath != "/run/kata-containers/shared/containers/c2/rootfs" {
		t.Fatalf("rootfs guest path %q", root.GuestPath)
	}
	if _, err := os.Stat(filepath.Join(c2.Rootfs.HostPath, "hello")); err != nil {
		t.Fatalf("rootfs not shared: %v", err)
	}
	if err := f.sharer.UnshareRootFilesystem(ctx, c2); err != nil {
		t.Fatal(err)
	}
	if err := f.sharer.UnshareRootFilesystem(ctx, c2); err != nil {
		t.Fatalf("second UnshareRootFilesystem: %v", err)
	}

	// The read-only share was never unshared: Cleanup takes it down.
	if err := f.sharer.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if left := mountsUnder(t, f.dir); len(left) > 0 {
		t.Fatalf("mounts left after Cleanup: %v", left)
	}
	for _, d := range []string{"sandboxes/s1", "sbs/s1"} {
		if _, err := os.Lstat(filepath.Join(f.root, d)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Cleanup: %v", d, err)
		}
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	f := newFixture(t)
	c := &Container{ID: "c1"}
	m := &Mount{Source: f.src, Destination: "/data"}

	// Not prepared: refused, nothing created.
	if _, err := f.sharer.ShareFile(ctx, c, m); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `sandbox "s1" does not exist`) {
		t.Fatalf("ShareFile before Prepare: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(f.root, "sbs", "s1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("state made by a refused share: %v", err)
	}
	if err := f.sharer.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	sbBefore, before, err := f.store.FromDisk("s1")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		c     *Container
		m     *Mount
		errno syscall.Errno
		text  string
	}{
		{"missing source", c, &Mount{Source: "/nonexistent/vmshare", Destination: "/d"}, syscall.ENOENT, "/nonexistent/vmshare"},
		{"relative source", c, &Mount{Source: "relative", Destination: "/d"}, syscall.EINVAL, "relative"},
		{"bad container id", &Container{ID: "../c"}, m, syscall.EINVAL, "invalid container id"},
		{"empty container id", &Container{}, m, syscall.EINVAL, "container id"},
	}
	for _, tc := range cases {
		mount := *tc.m
		_, err := f.sharer.ShareFile(ctx, tc.c, &mount)
		var e *Error
		if !errors.As(err, &e) || e.Errno != tc.errno || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: err %v, want errno %v naming %q", tc.name, err, tc.errno, tc.text)
		}
		if strings.HasPrefix(err.Error(), "vmshare:") {
			t.Errorf("%s: message has a program-name prefix: %v", tc.name, err)
		}
		if mount.Mounted || mount.HostPath != "" {
			t.Errorf("%s: mount changed: %+v", tc.name, mount)
		}
	}
	_, err = f.sharer.ShareFile(ctx, c, &Mount{Source: "/nonexistent/vmshare", Destination: "/d"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing source: errors.Is(err, fs.ErrNotExist) is false for %v", err)
	}
	if _, err := f.sharer.ShareRootFilesystem(ctx, &Container{ID: "c1", ContainerState: ContainerState{
		Rootfs: Mount{Source: "/nonexistent/rootfs"}}}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing rootfs: %v", err)
	}
	sbAfter, after, err := f.store.FromDisk("s1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) || sbBefore != sbAfter {
		t.Fatalf("state changed by refused calls:\nbefore %+v\nafter  %+v", before, after)
	}
	if left := mountsUnder(t, filepath.Join(f.root, "sandboxes", "s1", "mounts")); len(left) > 0 {
		t.Fatalf("mounts made by refused calls: %v", left)
	}

	// A held sandbox lock: EBUSY, nothing shared.
	unlock, err := f.store.TryLock("s1", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sharer.ShareFile(ctx, c, m); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("ShareFile under a held lock: %v, want EBUSY", err)
	}
	unlock()

	// A cancelled context: nothing is called.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.sharer.ShareFile(cctx, c, m); !errors.Is(err, context.Canceled) {
		t.Errorf("ShareFile with a cancelled context: %v", err)
	}

	for _, cfg := range []Config{{}, {SandboxID: "a/b"}, {SandboxID: "s1", Root: "relative"}, {SandboxID: "s1", SharedFS: "9p"}} {
		if _, err := NewSharer(cfg); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("NewSharer(%+v): %v, want EINVAL", cfg, err)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.FromDisk("s1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FromDisk of a missing sandbox: %v", err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ss := SandboxState{State: "running", SandboxContainer: "s1"}
	cs := map[string]ContainerState{
		"c1": {
			State:      "ready",
			Rootfs:     Mount{Source: "/b/rootfs", Destination: "/", Type: "bind", HostPath: "/h", Mounted: true},
			CgroupPath: "/vc/c1",
			DeviceMaps: []DeviceMap{{ID: "d1", ContainerPath: "/dev/x", FileMode: 0o660, UID: 1, GID: 2}},
			Mounts:     []Mount{{Source: "/a", Destination: "/b", Options: []string{"ro"}, ReadOnly: true}},
			Process:    []Process{{Token: "t1", Pid: 42, StartTime: start}, {Token: "t2", Pid: 43, StartTime: start}},
			BundlePath: "/bundles/c1",
		},
		"c2": {State: "stopped", Process: []Process{{Token: "t3", Pid: 7, StartTime: start}}},
	}
	if err := st.ToDisk(ss, cs); err != nil {
		t.Fatal(err)
	}
	gotSS, gotCS, err := st.FromDisk("s1")
	if err != nil {
		t.Fatal(err)
	}
	wantSS := ss
	wantSS.PersistVersion = 2
	if gotSS != wantSS {
		t.Errorf("sandbox %+v, want %+v", gotSS, wantSS)
	}
	if !reflect.DeepEqual(gotCS, cs) {
		t.Errorf("containers\n got %+v\nwant %+v", gotCS, cs)
	}

	// SaveContainer writes one file only.
	c2file := filepath.Join(dir, "sbs", "s1", "c2", "persist.json")
	info, err := os.Stat(c2file)
	if err != nil {
		t.Fatal(err)
	}
	c1 := cs["c1"]
	c1.State = "running"
	if err := st.SaveContainer("s1", "c1", c1); err != nil {
		t.Fatal(err)
	}
	if info2, err := os.Stat(c2file); err != nil || !os.SameFile(info, info2) || info2.ModTime() != info.ModTime() {
		t.Errorf("SaveContainer of c1 rewrote c2's file")
	}
	if err := st.SaveContainer("s9", "c1", c1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SaveContainer into a missing sandbox: %v", err)
	}

	// ToDisk without c2 removes it.
	if err := st.ToDisk(ss, map[string]ContainerState{"c1": c1}); err != nil {
		t.Fatal(err)
	}
	if _, got, err := st.FromDisk("s1"); err != nil || len(got) != 1 || got["c1"].State != "running" {
		t.Fatalf("after ToDisk without c2: %+v, %v", got, err)
	}
	if err := st.ToDisk(SandboxState{}, nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("ToDisk without a sandbox id: %v", err)
	}

	// Locks.
	unlock, err := st.Lock("s1", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.TryLock("s1", false); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("TryLock while held exclusively: %v, want EBUSY", err)
	}
	unlock()
	unlock() // once only
	r1, err := st.TryLock("s1", false)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := st.TryLock("s1", false)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	r1()
	r2()

	if err := st.Destroy("s1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.FromDisk("s1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FromDisk after Destroy: %v", err)
	}
	if err := st.Destroy("s1"); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}
