package mmap

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// smapsField returns field (e.g. "Rss:") of the mapping of this process
// that contains the middle of b, in KiB, from /proc/self/smaps (advice
// splits a mapping where it starts and ends).
func smapsField(t *testing.T, b []byte, field string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) + uint64(len(b)/2)
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok && !strings.HasSuffix(f[0], ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			z, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && a <= addr && addr < z
			continue
		}
		if in && f[0] == field && len(f) >= 2 {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("smaps %s %q: %v", field, f[1], err)
			}
			return n
		}
	}
	t.Skipf("no mapping of /proc/self/smaps holds %#x (an emulator's view?)", addr)
	return 0
}

// mapFile maps a new file of size bytes of 7s.
func mapFile(t *testing.T, size int) *File {
	t.Helper()
	f := openFile(t, bytes.Repeat([]byte{7}, size))
	if !f.Mapped() {
		t.Skip("the file was read, not mapped")
	}
	return f
}

// requireSmaps skips the test where /proc/self/smaps does not show what
// this process maps and touches (an emulator such as qemu-user shows its
// own view, and ignores the advice).
func requireSmaps(t *testing.T) {
	t.Helper()
	// An x86 kernel lists vendor_id in /proc/cpuinfo, which qemu-user
	// passes through to a guest of another architecture.
	if cpu, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		x86 := runtime.GOARCH == "amd64" || runtime.GOARCH == "386"
		if bytes.Contains(cpu, []byte("vendor_id")) != x86 {
			t.Skip("emulated (qemu-user ignores memory advice)")
		}
	}
	f := mapFile(t, 64<<10)
	var sum byte
	for i := 0; i < len(f.Data()); i += 4096 {
		sum += f.Data()[i]
	}
	if sum != 16*7 || smapsField(t, f.Data(), "Rss:") < 64 {
		t.Skip("/proc/self/smaps does not show this process's reads (emulated?)")
	}
}

// Populate maps a file's pages without touching them: the mapping's
// resident size goes from nothing to the whole file.
func TestPopulateMaps(t *testing.T) {
	requireSmaps(t)
	const size = 256 << 10
	f := mapFile(t, size)
	if rss := smapsField(t, f.Data(), "Rss:"); rss != 0 {
		t.Skipf("mapping resident before any read (%d KiB): nothing to observe", rss)
	}
	Populate(f.Data()[1:]) // from inside the first page
	rss := smapsField(t, f.Data(), "Rss:")
	if rss == 0 && !kernelAtLeast(5, 14) {
		t.Skip("MADV_POPULATE_READ came with Linux 5.14")
	}
	if rss != size>>10 {
		t.Errorf("after Populate the mapping has %d KiB resident, want all %d", rss, size>>10)
	}
}

// HugePages gets huge pages where the system leaves them to the program.
func TestHugePagesBacks(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(mode, []byte("[madvise]")) {
		t.Skipf("transparent huge pages are not in madvise mode (%q)", bytes.TrimSpace(mode))
	}
	if st, err := os.ReadFile("/proc/self/status"); err == nil && bytes.Contains(st, []byte("THP_enabled:\t0")) {
		t.Skip("huge pages are disabled for this process (prctl PR_SET_THP_DISABLE)")
	}
	requireSmaps(t)
	b := make([]byte, 16<<20)
	HugePages(b)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	if smapsField(t, b, "THPeligible:") != 1 {
		t.Errorf("the middle of a 16 MiB allocation is not eligible for huge pages after HugePages")
	}
	if kb := smapsField(t, b, "AnonHugePages:"); kb == 0 {
		t.Skip("eligible, but no huge page was given (memory fragmented): nothing more to check")
	}
}

// kernelAtLeast reports whether the running Linux is version maj.min or
// later.
func kernelAtLeast(maj, min int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	a, err1 := strconv.Atoi(parts[0])
	b, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return a > maj || a == maj && b >= min
}
