package hgemm

import (
	"sync"
	"sync/atomic"
	"time"
)

// Whether software prefetch helps the one-row (decode) kernels depends on
// the CPU: on one 2-vCPU EPYC VM the 2 KiB PREFETCHT0 of each weight row
// made a 117 MB product 1.14× faster at one thread, on another the same
// kernels without it decoded a 270m-shaped F16 model 1.15–1.22× faster
// (docs/PERFORMANCE.md). Neither can be told from the CPU's features, so
// the process measures both on its own products and keeps the faster one.
//
// prefetchTuner does that for one class of thread counts: the one-row
// products of at least tuneBytes of weights (read from memory, not from
// the caches) alternate between the kernels with and without prefetch
// until each has run tuneSamples times; then the kernels without prefetch
// are kept if their fastest run read the weights at least 3 % faster than
// the fastest with prefetch, and the prefetching ones otherwise. Until the
// choice is made, smaller products prefetch (the kernels' original
// behaviour). The choice is made once per process.
type prefetchTuner struct {
	state atomic.Int32 // tuneMeasuring, tunePrefetch or tuneNone
	mu    sync.Mutex
	n     [2]int     // runs measured: [0] with prefetch, [1] without
	best  [2]float64 // fastest seconds per weight byte of each
}

const (
	tuneMeasuring = iota
	tunePrefetch
	tuneNone
)

// tuneBytes is the fewest weight bytes of a product that the tuner
// measures; tuneSamples the runs of each kind it compares.
const (
	tuneBytes   = 32 << 20
	tuneSamples = 4
)

// prefetchTuners holds the tuner for one thread ([0]) and for several
// ([1]): one core's stream and two cores' streams need not prefer the same.
var prefetchTuners [2]prefetchTuner

// forcePrefetch overrides the tuners when not tuneMeasuring (tests and
// benchmarks).
var forcePrefetch = tuneMeasuring

// tunerFor returns the tuner of a product with parts participants.
func tunerFor(parts int) *prefetchTuner {
	if parts > 1 {
		return &prefetchTuners[1]
	}
	return &prefetchTuners[0]
}

// choose reports whether a one-row product of the given weight bytes
// prefetches, and whether its time should be reported to record.
func (t *prefetchTuner) choose(bytes int) (prefetch, measure bool) {
	switch forcePrefetch {
	case tunePrefetch:
		return true, false
	case tuneNone:
		return false, false
	}
	switch t.state.Load() {
	case tunePrefetch:
		return true, false
	case tuneNone:
		return false, false
	}
	if bytes < tuneBytes {
		return true, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n[0] <= t.n[1], true
}

// record adds one measured product: d for bytes of weights, with or
// without prefetch; it makes the choice once both kinds have tuneSamples
// runs.
func (t *prefetchTuner) record(prefetch bool, d time.Duration, bytes int) {
	c := 1
	if prefetch {
		c = 0
	}
	sec := d.Seconds() / float64(bytes)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state.Load() != tuneMeasuring {
		return
	}
	if t.n[c] == 0 || sec < t.best[c] {
		t.best[c] = sec
	}
	t.n[c]++
	if t.n[0] >= tuneSamples && t.n[1] >= tuneSamples {
		if t.best[1] < 0.97*t.best[0] {
			t.state.Store(tuneNone)
		} else {
			t.state.Store(tunePrefetch)
		}
	}
}

// PrefetchChoice reports the one-row kernels' choice for one thread and for
// several: "prefetch", "none", or "measuring" while the process has not yet
// run enough large one-row products to choose (see prefetchTuner).
func PrefetchChoice() (oneThread, several string) {
	name := func(t *prefetchTuner) string {
		switch t.state.Load() {
		case tunePrefetch:
			return "prefetch"
		case tuneNone:
			return "none"
		}
		return "measuring"
	}
	return name(&prefetchTuners[0]), name(&prefetchTuners[1])
}
