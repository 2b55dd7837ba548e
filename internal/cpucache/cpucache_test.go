package cpucache

import "testing"

func TestClampL2(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{-1, DefaultL2},
		{0, DefaultL2},
		{64 << 10, 128 << 10},
		{256 << 10, 256 << 10},
		{1 << 20, 1 << 20},
		{2 << 20, 2 << 20},
		{32 << 20, 4 << 20},
	} {
		if got := clampL2(c.in); got != c.want {
			t.Errorf("clampL2(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	if n := L2(); n < 128<<10 || n > 4<<20 {
		t.Errorf("L2() = %d, outside [128 KiB, 4 MiB]", n)
	}
}
