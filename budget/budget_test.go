package budget

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	l := Limit(1 << 20)
	if err := l.Check("a", 1<<20); err != nil {
		t.Errorf("Check(1 MiB) under a 1 MiB limit: %v", err)
	}
	err := l.Check("tensor w", 1<<20+1)
	if !errors.Is(err, ErrExceeded) {
		t.Fatalf("Check(1 MiB + 1) = %v, want ErrExceeded", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "tensor w") || !strings.Contains(msg, EnvVar) {
		t.Errorf("message %q should name the allocation and %s", msg, EnvVar)
	}
	if err := l.Check("neg", -1); !errors.Is(err, ErrExceeded) {
		t.Errorf("Check(-1) = %v, want ErrExceeded", err)
	}
}

func TestCheckElems(t *testing.T) {
	l := Limit(1 << 30)
	for _, tc := range []struct {
		size int
		dims []int
		ok   bool
	}{
		{4, []int{1024, 1024}, true},
		{4, nil, true},
		{4, []int{0, math.MaxInt}, true},
		{4, []int{1 << 20, 1 << 10}, false},
		{4, []int{math.MaxInt32, math.MaxInt32}, false},
		{1, []int{math.MaxInt, math.MaxInt}, false},
		{1, []int{math.MaxInt, 2}, false},
		{4, []int{-1, 4}, false},
	} {
		err := l.CheckElems("x", tc.size, tc.dims...)
		if (err == nil) != tc.ok {
			t.Errorf("CheckElems(%d, %v) = %v, want ok=%v", tc.size, tc.dims, err, tc.ok)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"1024": 1024, "8GiB": 8 << 30, "8gib": 8 << 30, "512MB": 512e6, "1.5G": 3 << 29,
		"2 KiB": 2048, "7B": 7, "1T": 1 << 40,
	} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1e30", "NaN", "GiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) succeeded, want an error", in)
		}
	}
}

func TestDefault(t *testing.T) {
	if d := Default(); d <= 0 {
		t.Fatalf("Default() = %d", d)
	}
	if got := defaultFor(0); got != fallbackPhysical/4*3 {
		t.Errorf("defaultFor(0) = %d", got)
	}
	if Limit(0).Bytes() != Default() {
		t.Error("the zero Limit should mean Default()")
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 30: "64 GiB",
		1000 << 20: "1000 MiB", 1023 << 20: "1023 MiB", 1<<20 - 1: "1024 KiB", math.MaxInt64: "8 EiB",
	} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
