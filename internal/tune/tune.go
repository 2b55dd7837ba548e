// Package tune makes run-time choices between equivalent kernels that no
// CPU feature flag can make, by timing them on the caller's own work.
//
// Prefetch chooses whether matrix kernels prefetch their weights in
// software: qgemm's one-row (decode) kernels and all of hgemm's. Decode
// products stream the weights from memory once each, and whether
// PREFETCHT0 a few KiB ahead helps depends on the CPU: on one 2-vCPU EPYC VM it made a 117 MB F16 product 1.14× faster at
// one thread, on another the same kernels without it decoded a 270m-shaped
// F16 model 1.12–1.22× faster and a Q4_0 one 1.13–1.19× faster, while
// Q6_K's compute-bound kernel was better with it; there hgemm's prompt
// kernels, whose weights come from L2, also ran faster without
// (docs/PERFORMANCE.md).
package tune

import (
	"sync"
	"sync/atomic"
	"time"
)

// Prefetch decides, for one matrix and one class of thread counts, between
// its kernels with and without software prefetch. Products large enough to
// time alternate between the two until each has run Samples times; then
// the kernels without prefetch are kept if their fastest run read the
// weights at least 3 % faster than the fastest with prefetch, and the
// prefetching ones otherwise (the kernels' original behaviour, also used
// before the choice is made). The choice is made once. The zero value is
// ready to use; a Prefetch is safe for concurrent use.
type Prefetch struct {
	state atomic.Int32 // measuring, withPrefetch or withoutPrefetch
	mu    sync.Mutex
	n     [2]int     // runs timed: [0] with prefetch, [1] without
	best  [2]float64 // fastest seconds per byte of each
}

const (
	measuring = iota
	withPrefetch
	withoutPrefetch
)

// Samples is the number of timed runs of each kind that Prefetch compares.
const Samples = 4

// MinBytes is the least work of a product worth timing, in weight bytes
// (times rows, for callers that time products of several rows together):
// smaller ones take a few microseconds, mostly call overhead.
const MinBytes = 1 << 20

// Force overrides every Prefetch when set to On or Off (tests and
// benchmarks; not for concurrent use with products).
var Force = Auto

// The values of Force.
const (
	Auto = iota
	On
	Off
)

// Choose reports whether a product of the given work (see MinBytes)
// should prefetch, and whether the caller should time it and pass the time
// to Record.
func (t *Prefetch) Choose(bytes int) (prefetch, timeIt bool) {
	switch Force {
	case On:
		return true, false
	case Off:
		return false, false
	}
	switch t.state.Load() {
	case withPrefetch:
		return true, false
	case withoutPrefetch:
		return false, false
	}
	if bytes < MinBytes {
		return true, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[0] <= t.n[1], true
}

// Record adds one timed product: d for bytes of work (as given to
// Choose), with or without prefetch. Once both kinds have Samples runs it makes the choice.
func (t *Prefetch) Record(prefetch bool, d time.Duration, bytes int) {
	c := 1
	if prefetch {
		c = 0
	}
	sec := d.Seconds() / float64(max(1, bytes))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state.Load() != measuring {
		return
	}
	if t.n[c] == 0 || sec < t.best[c] {
		t.best[c] = sec
	}
	t.n[c]++
	if t.n[0] >= Samples && t.n[1] >= Samples {
		if t.best[1] < 0.97*t.best[0] {
			t.state.Store(withoutPrefetch)
		} else {
			t.state.Store(withPrefetch)
		}
	}
}

// Run runs product with Choose(work)'s choice and, while t is measuring,
// times it and passes the time to Record (not when product fails).
func (t *Prefetch) Run(work int, product func(prefetch bool) error) error {
	prefetch, timeIt := t.Choose(work)
	if !timeIt {
		return product(prefetch)
	}
	t0 := time.Now()
	err := product(prefetch)
	if err == nil {
		t.Record(prefetch, time.Since(t0), work)
	}
	return err
}

// String reports the choice: "prefetch", "no prefetch" or "measuring".
func (t *Prefetch) String() string {
	switch t.state.Load() {
	case withPrefetch:
		return "prefetch"
	case withoutPrefetch:
		return "no prefetch"
	}
	return "measuring"
}

// Class returns the index of the Prefetch of a product run by parts
// threads, in a per-matrix [2]Prefetch: one core's stream and several
// cores' streams need not prefer the same kernels.
func Class(parts int) int {
	if parts > 1 {
		return 1
	}
	return 0
}
