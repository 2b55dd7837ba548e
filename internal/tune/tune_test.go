package tune

import (
	"errors"
	"testing"
	"time"
)

// TestPrefetch checks the protocol: small products prefetch untimed; large
// ones alternate (with prefetch first) until each kind has Samples runs; a
// cold first run does not decide; the kernels without prefetch are kept
// only when at least 3 % faster; the choice then holds for every size.
func TestPrefetch(t *testing.T) {
	const big = MinBytes
	for _, tc := range []struct {
		name       string
		with, none time.Duration
		want       string
	}{
		{"none faster", 10 * time.Millisecond, 8 * time.Millisecond, "no prefetch"},
		{"prefetch faster", 8 * time.Millisecond, 10 * time.Millisecond, "prefetch"},
		{"within 3 %", 10 * time.Millisecond, 9800 * time.Microsecond, "prefetch"},
	} {
		var p Prefetch
		if pf, timeIt := p.Choose(big - 1); !pf || timeIt {
			t.Fatalf("%s: small product: prefetch %v, time %v", tc.name, pf, timeIt)
		}
		for i := 0; p.String() == "measuring"; i++ {
			if i > 2*Samples {
				t.Fatalf("%s: no choice after %d runs", tc.name, i)
			}
			pf, timeIt := p.Choose(big)
			if !timeIt || pf != (i%2 == 0) {
				t.Fatalf("%s: run %d: prefetch %v, time %v", tc.name, i, pf, timeIt)
			}
			d := tc.none
			if pf {
				d = tc.with
			}
			if i == 0 {
				d *= 5
			}
			p.Record(pf, d, big)
		}
		if got := p.String(); got != tc.want {
			t.Errorf("%s: chose %q, want %q", tc.name, got, tc.want)
		}
		for _, b := range []int{1, big, 4 * big} {
			if pf, timeIt := p.Choose(b); timeIt || pf != (tc.want == "prefetch") {
				t.Errorf("%s: after the choice, %d bytes: prefetch %v, time %v", tc.name, b, pf, timeIt)
			}
		}
	}
}

// TestForce checks that Force overrides a Prefetch in either state.
func TestForce(t *testing.T) {
	defer func(f int) { Force = f }(Force)
	var p Prefetch
	for _, tc := range []struct {
		force int
		want  bool
	}{{On, true}, {Off, false}} {
		Force = tc.force
		if pf, timeIt := p.Choose(1 << 30); pf != tc.want || timeIt {
			t.Errorf("Force %d: prefetch %v, time %v", tc.force, pf, timeIt)
		}
	}
}

// TestRun checks that Run passes Choose's choice to the product, records
// timed products that succeed (so that the choice is made after Samples
// of each) and not the ones that fail.
func TestRun(t *testing.T) {
	var p Prefetch
	fail := errors.New("fail")
	if err := p.Run(MinBytes, func(bool) error { return fail }); err != fail {
		t.Fatalf("Run returned %v, want the product's error", err)
	}
	if pf, _ := p.Choose(MinBytes); !pf {
		t.Fatal("a failed product was recorded")
	}
	var got []bool
	for p.String() == "measuring" {
		if len(got) > 2*Samples {
			t.Fatalf("no choice after %d runs", len(got))
		}
		if err := p.Run(MinBytes, func(pf bool) error { got = append(got, pf); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2*Samples || !got[0] || got[1] {
		t.Errorf("runs %v: want %d alternating, with prefetch first", got, 2*Samples)
	}
}
