package qgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// quantizeRowsRef is the original scalar quantizeRows (sign-branching
// round and abs), kept as the bit-level reference for the fast version.
func quantizeRowsRef(a []float32, rows, k, bs int, qa []int8, sa []float32, suma []int32) {
	kb := (k + bs - 1) / bs
	for r := 0; r < rows; r++ {
		row := a[r*k : (r+1)*k]
		dst := qa[r*kb*bs : (r+1)*kb*bs]
		for b := 0; b < kb; b++ {
			src := row[b*bs : min((b+1)*bs, k)]
			var amax float32
			for _, v := range src {
				amax = max(amax, absRef(v))
			}
			sa[b*rows+r] = amax / 127
			var inv float32
			if amax != 0 {
				inv = 127 / amax
			}
			out := dst[b*bs : (b+1)*bs]
			var sum int32
			for j, v := range src {
				q := roundEvenRef(float32(v * inv))
				out[j] = int8(q)
				sum += q
			}
			for j := len(src); j < bs; j++ {
				out[j] = 0
			}
			suma[b*rows+r] = sum
		}
	}
}

func roundEvenRef(x float32) int32 {
	const magic = 1 << 23
	var y float32
	if x >= 0 {
		y = float32(x+magic) - magic
	} else {
		y = float32(x-magic) + magic
	}
	return max(-128, min(127, int32(y)))
}

func absRef(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// quantInput fills rows×k values of several kinds: plain random, values
// that land exactly on .5 after scaling (ties), zeros and all-zero blocks.
func quantInput(rng *rand.Rand, rows, k, bs int) []float32 {
	a := make([]float32, rows*k)
	for r := 0; r < rows; r++ {
		for b := 0; b*bs < k; b++ {
			blk := a[r*k+b*bs : r*k+min((b+1)*bs, k)]
			switch rng.IntN(5) {
			case 0: // all zero
			case 1: // ties: amax 127 so the scale is 1 and v·inv = v
				for j := range blk {
					blk[j] = float32(rng.IntN(254)-127) + 0.5
				}
				blk[rng.IntN(len(blk))] = 127
				if rng.IntN(2) == 0 {
					blk[rng.IntN(len(blk))] = -127
				}
			case 2: // ties at another scale: amax 63.5 gives inv = 2
				for j := range blk {
					blk[j] = float32(rng.IntN(254)-127)/4 + 0.25*float32(rng.IntN(2))
				}
				blk[0] = -63.5
			default: // random with some exact zeros and a wide range
				s := float32(math.Exp(rng.Float64()*20 - 10))
				for j := range blk {
					if rng.IntN(8) == 0 {
						continue
					}
					blk[j] = float32(rng.NormFloat64()) * s
				}
			}
		}
	}
	return a
}

func TestQuantizeRowsMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, bs := range []int{16, 32, 64, 128} {
		for _, k := range []int{1, 7, bs - 1, bs, bs + 1, 3*bs + 5, 1000} {
			if k < 1 {
				continue
			}
			for _, rows := range []int{1, 3, 8} {
				for trial := 0; trial < 4; trial++ {
					a := quantInput(rng, rows, k, bs)
					if trial == 3 {
						for i := range a {
							if rng.IntN(50) == 0 {
								a[i] = float32(math.Copysign(0, -1))
							}
						}
					}
					kb := (k + bs - 1) / bs
					qa, qw := make([]int8, rows*kb*bs), make([]int8, rows*kb*bs)
					sa, sw := make([]float32, kb*rows), make([]float32, kb*rows)
					su, sv := make([]int32, kb*rows), make([]int32, kb*rows)
					for i := range qa { // stale data must be overwritten
						qa[i], qw[i] = 99, 99
					}
					quantizeRows(a, rows, k, bs, qa, sa, su)
					quantizeRowsRef(a, rows, k, bs, qw, sw, sv)
					for i := range qa {
						if qa[i] != qw[i] {
							t.Fatalf("bs %d k %d rows %d: qa[%d] got %d, want %d", bs, k, rows, i, qa[i], qw[i])
						}
					}
					for i := range sa {
						if math.Float32bits(sa[i]) != math.Float32bits(sw[i]) {
							t.Fatalf("bs %d k %d rows %d: sa[%d] got %g, want %g", bs, k, rows, i, sa[i], sw[i])
						}
						if su[i] != sv[i] {
							t.Fatalf("bs %d k %d rows %d: suma[%d] got %d, want %d", bs, k, rows, i, su[i], sv[i])
						}
					}
				}
			}
		}
	}
}

// TestRoundEvenExhaustive checks roundEven against math.RoundToEven on
// every float32 in [−129, 129] that is a multiple of 2^−8 plus the
// neighbours of each half-integer.
func TestRoundEvenExhaustive(t *testing.T) {
	check := func(x float32) {
		want := int32(math.Max(-128, math.Min(127, math.RoundToEven(float64(x)))))
		if got := roundEven(x); got != want {
			t.Fatalf("roundEven(%g) got %d, want %d", x, got, want)
		}
	}
	for i := -129 * 256; i <= 129*256; i++ {
		x := float32(i) / 256
		check(x)
		check(math.Nextafter32(x, 200))
		check(math.Nextafter32(x, -200))
	}
}

func BenchmarkQuantizeRows(b *testing.B) {
	for _, c := range []struct {
		name      string
		rows, k   int
		bs        int
		reference bool
	}{
		{"new/k1152", 64, 1152, 32, false},
		{"ref/k1152", 64, 1152, 32, true},
		{"new/k6912", 64, 6912, 32, false},
		{"ref/k6912", 64, 6912, 32, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			a := make([]float32, c.rows*c.k)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			kb := (c.k + c.bs - 1) / c.bs
			qa := make([]int8, c.rows*kb*c.bs)
			sa := make([]float32, kb*c.rows)
			su := make([]int32, kb*c.rows)
			f := quantizeRows
			if c.reference {
				f = quantizeRowsRef
			}
			b.ResetTimer()
			for range b.N {
				f(a, c.rows, c.k, c.bs, qa, sa, su)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(a)), "ns/element")
		})
	}
}

// TestQuantizeRowFnMatchesGo compares every row quantizer this CPU can run
// (the dispatched one, and the AVX2 and AVX-512 ones) with the pure-Go one
// bit for bit, including NaN, ±Inf,
// ±0, subnormals and huge values, ragged lengths and stale output.
func TestQuantizeRowFnMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		1e-45, -3e-39, 3e38, -3.4e38, math.Float32frombits(0xffc00001)}
	for _, bs := range []int{16, 32, 64, 128, 256} {
		for _, k := range []int{1, 5, 15, 16, 17, 31, 33, bs - 1, bs, bs + 1, 3*bs + 7, 1000} {
			if k < 1 {
				continue
			}
			for trial := 0; trial < 6; trial++ {
				var row []float32
				if trial < 3 {
					row = quantInput(rng, 1, k, bs)
				} else {
					row = make([]float32, k)
					for i := range row {
						row[i] = float32(rng.NormFloat64()) * float32(math.Exp(rng.Float64()*40-20))
						if rng.IntN(3*trial) == 0 {
							row[i] = special[rng.IntN(len(special))]
						}
					}
				}
				kb := (k + bs - 1) / bs
				const stride = 3
				got, want := make([]int8, kb*bs), make([]int8, kb*bs)
				for i := range got {
					got[i], want[i] = 77, 77
				}
				gs, ws := make([]float32, kb*stride), make([]float32, kb*stride)
				gu, wu := make([]int32, kb*stride), make([]int32, kb*stride)
				quantizeRowGo(row, bs, want, ws, wu, stride)
				for _, impl := range quantizeRowImpls() {
					for i := range got {
						got[i] = 77
					}
					impl.fn(row, bs, got, gs, gu, stride)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("%s: bs %d k %d trial %d: qa[%d] got %d, want %d (x = %g)", impl.name, bs, k, trial, i, got[i], want[i], row[min(i, k-1)])
						}
					}
					for i := range gs {
						if math.Float32bits(gs[i]) != math.Float32bits(ws[i]) || gu[i] != wu[i] {
							t.Fatalf("%s: bs %d k %d trial %d: block %d: scale %g sum %d, want %g %d", impl.name, bs, k, trial, i/stride, gs[i], gu[i], ws[i], wu[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkQuantizeRow times each row quantizer this CPU can run against
// the pure-Go one on one 4096-element row (block size 32).
func BenchmarkQuantizeRow(b *testing.B) {
	const k, bs = 4096, 32
	rng := rand.New(rand.NewPCG(3, 4))
	row := make([]float32, k)
	for i := range row {
		row[i] = float32(rng.NormFloat64())
	}
	qa := make([]int8, k)
	sa, su := make([]float32, k/bs), make([]int32, k/bs)
	impls := append(quantizeRowImpls(), rowQuantizer{"go", quantizeRowGo})
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.fn(row, bs, qa, sa, su, 1)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/k, "ns/element")
		})
	}
}
