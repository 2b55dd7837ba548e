package bench

import (
	"context"
	"runtime"
	"slices"
	"time"

	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/internal/tune"
)

// runs are the sorted timings of repeat: the workload, and with a stream
// the streaming read of as many bytes alternated with it.
type runs struct {
	times, stimes []time.Duration
	// pairs are stime/time of each repetition and the read right after
	// it, sorted: both saw about the same machine load.
	pairs       []float64
	streamBytes int
}

func (r runs) median() time.Duration { return r.times[len(r.times)/2] }
func (r runs) best() time.Duration   { return r.times[0] }

// streamGBps returns the median streaming-read rate (0 without a stream).
func (r runs) streamGBps() float64 {
	if len(r.stimes) == 0 {
		return 0
	}
	return float64(r.streamBytes) / r.stimes[len(r.stimes)/2].Seconds() / 1e9
}

// streamBestGBps returns the fastest streaming-read rate (0 without a
// stream).
func (r runs) streamBestGBps() float64 {
	if len(r.stimes) == 0 {
		return 0
	}
	return float64(r.streamBytes) / r.stimes[0].Seconds() / 1e9
}

// ratio returns the median over repetitions of the workload's rate over
// the rate of the streaming read that followed it, for a workload of
// bytes bytes (0 without a stream): pairing each repetition with its
// neighbouring read cancels most of the drift of a shared machine.
func (r runs) ratio(bytes int) float64 {
	if len(r.pairs) == 0 {
		return 0
	}
	return r.pairs[len(r.pairs)/2] * float64(bytes) / float64(r.streamBytes)
}

// repeat runs fn to warm up — 1 + 2·tune.Samples times, so that the
// kernels' run-time choices (tune.Prefetch) are made before any run is
// timed — then at least 5 times and for at least minTime. With
// streamBytes > 0 each repetition is followed by a streaming read of that
// many bytes with the same threads (so both see the same machine load).
// With cold, 64 MiB are read (untimed) before every run of fn, warm-up
// included, and before every streaming read, so that each starts with
// its bytes evicted from the caches: the prefetch choice is then made on
// the runs it is timed for (decode reads each matrix once per token, cold),
// and the read it is paired with is not served from a warm cache either.
func repeat(ctx context.Context, minTime time.Duration, threads, streamBytes int, cold bool, fn func() error) (runs, error) {
	var r runs
	fill := func(n int) []uint64 {
		b := make([]uint64, n)
		mmap.HugePages(b) // as the weights' copies and tiles are
		for i := range b {
			b[i] = uint64(i)
		}
		return b
	}
	var buf, flush []uint64
	if streamBytes > 0 {
		buf = fill(streamBytes / 8)
		r.streamBytes = 8 * len(buf)
	}
	if cold {
		flush = fill(8 << 20)
	}
	var sink uint64 // the reads' checksum
	evict := func() {
		if cold {
			sink += qgemm.StreamRead(flush, threads)
		}
	}
	for range 1 + 2*tune.Samples {
		evict()
		if err := fn(); err != nil {
			return r, err
		}
	}
	start := time.Now()
	for len(r.times) < 5 || time.Since(start) < minTime {
		evict()
		t0 := time.Now()
		if err := fn(); err != nil {
			return r, err
		}
		r.times = append(r.times, time.Since(t0))
		if buf != nil {
			evict()
			t1 := time.Now()
			sink += qgemm.StreamRead(buf, threads)
			st := time.Since(t1)
			r.stimes = append(r.stimes, st)
			r.pairs = append(r.pairs, st.Seconds()/r.times[len(r.times)-1].Seconds())
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
	}
	runtime.KeepAlive(sink)
	slices.Sort(r.times)
	slices.Sort(r.stimes)
	slices.Sort(r.pairs)
	return r, nil
}
