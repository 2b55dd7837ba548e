package gemma3

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/numeric"
)

// TestToF16 checks toF16 and roundF16 (F16C or NEON where the CPU has it)
// against numeric.Float16FromFloat32 on random values of every magnitude,
// ties, subnormals, infinities and NaNs (quiet and signalling, with
// payloads), for every length up to 40 with a guard element.
func TestToF16(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	special := []float32{0, float32(math.Copysign(0, -1)), 65504, 65519.99, 65520, -1e6, 6e-8, 3e-8, 1e-40,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1 + 1.0/2048, 1 + 3.0/2048, 2049,
		float32(math.NaN()), math.Float32frombits(0xffc0a000), math.Float32frombits(0x7f812345), math.Float32frombits(0x7f800001)}
	for n := 0; n <= 40; n++ {
		src := make([]float32, n)
		for i := range src {
			if i < len(special) && n > 20 {
				src[i] = special[i]
				continue
			}
			src[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(12)-8)))
		}
		dst := make([]uint16, n+1)
		dst[n] = 0xbeef
		toF16(dst[:n], src)
		for i, v := range src {
			if want := numeric.Float16FromFloat32(v).Bits(); dst[i] != want {
				t.Errorf("toF16(n=%d)[%d] = %v: got %#04x, want %#04x", n, i, v, dst[i], want)
			}
		}
		if dst[n] != 0xbeef {
			t.Errorf("toF16(n=%d) wrote the guard element", n)
		}
		rounded := make([]float32, n+1)
		rounded[n] = 7
		roundF16(rounded[:n], src)
		for i, v := range src {
			if want := numeric.Float16FromFloat32(v).Float32(); math.Float32bits(rounded[i]) != math.Float32bits(want) {
				t.Errorf("roundF16(n=%d)[%d] = %v: got %#08x, want %#08x", n, i, v, math.Float32bits(rounded[i]), math.Float32bits(want))
			}
		}
		if rounded[n] != 7 {
			t.Errorf("roundF16(n=%d) wrote the guard element", n)
		}
	}
}

// TestQuantizeQ8_0 checks the cache's Q8_0 rows against gguf/quant's
// reference blocks: identical codes and scales up to ggml's two roundings
// (x86 rint(x·127/amax) against the reference's round(x/d)), so every
// dequantized value is within one step of the reference.
func TestQuantizeQ8_0(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	x := make([]float32, 32*16)
	for i := range x {
		x[i] = float32(r.NormFloat64() * math.Pow(10, float64(i/32%6-3)))
	}
	clear(x[64:96]) // a zero block
	b := make([]byte, len(x)/32*34)
	quantizeQ8_0(b, x)
	got := make([]float32, len(x))
	dequantizeQ8_0(got, b)
	ref := make([]byte, len(b))
	var blk quant.BlockQ8_0
	for i := 0; i < len(x); i += 32 {
		blk.Quantize(x[i : i+32])
		blk.Store(ref[i/32*34:])
	}
	want := make([]float32, len(x))
	dequantizeQ8_0(want, ref)
	for i := range x {
		d := f16(uint16(b[i/32*34]) | uint16(b[i/32*34+1])<<8)
		if math.Abs(float64(got[i]-want[i])) > float64(d)*1.001 || math.Abs(float64(got[i]-x[i])) > float64(d)*0.6 { // half a step plus 127·(fp16 rounding of d)
			t.Errorf("x[%d] = %v: q8_0 %v, reference %v (d %v)", i, x[i], got[i], want[i], d)
		}
	}
}

// TestCacheKernels checks each cache type's attention kernels (assembly
// where the CPU has it) against scores4Generic and values4Generic over the
// widened keys and values, for several head sizes, key counts and
// strides, and that values add into the output without touching guard
// elements.
func TestCacheKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, typ := range []CacheType{CacheF32, CacheF16, CacheQ8_0} {
		for _, hd := range []int{32, 64, 256, 24, 8} {
			if typ.check(hd) != nil {
				continue
			}
			for _, heads := range []int{1, 3} {
				for _, n := range []int{0, 1, 5, 33} {
					t.Run(fmt.Sprintf("%v/hd=%d/heads=%d/n=%d", typ, hd, heads, n), func(t *testing.T) {
						testCacheKernels(t, r, typ, hd, heads, n)
					})
				}
			}
		}
	}
}

func testCacheKernels(t *testing.T, r *rand.Rand, typ CacheType, hd, heads, n int) {
	width := heads * hd
	slots := n + 2
	c := newKVCache(typ, slots, width)
	kw, vw := make([]float32, slots*width), make([]float32, slots*width)
	row := make([]float32, 2*width)
	for s := 0; s < slots; s++ {
		for i := range row {
			row[i] = float32(r.NormFloat64())
		}
		c.store(s, row[:width], row[width:])
		c.load(s, kw[s*width:(s+1)*width], vw[s*width:(s+1)*width])
	}
	for i := range kw {
		if typ == CacheF32 && kw[i] == 0 {
			t.Fatal("load lost a value")
		}
	}
	var q [4][]float32
	for h := range q {
		q[h] = make([]float32, hd)
		for i := range q[h] {
			q[h][i] = float32(r.NormFloat64())
		}
	}
	off := (heads - 1) * hd // the last head
	p := make([]float32, 4*n)
	for i := range p {
		p[i] = float32(r.Float64())
	}
	got, want := make([]float32, 4*n+1), make([]float32, 4*n+1)
	got[4*n], want[4*n] = 7, 7
	c.scores(&q, 1, off, n, got[:4*n])
	scores4Generic(&q, kw[width+off:], width, n, want[:4*n])
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(hd) {
			t.Errorf("scores[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	gotV, wantV := make([]float32, 4*hd+1), make([]float32, 4*hd+1)
	for i := range gotV {
		gotV[i] = float32(i)
		wantV[i] = float32(i)
	}
	c.values(p, 1, off, hd, n, gotV[:4*hd])
	values4Generic(p, vw[width+off:], width, hd, n, wantV[:4*hd])
	for i := range gotV {
		if d := math.Abs(float64(gotV[i] - wantV[i])); d > 1e-5*float64(n+1)*(1+math.Abs(float64(wantV[i]))) {
			t.Errorf("values[%d] = %v, want %v", i, gotV[i], wantV[i])
		}
	}
}

// TestCacheTypeHeads checks that a Q8_0 cache refuses heads that are not
// whole blocks, through NewState.
func TestCacheTypeHeads(t *testing.T) {
	c := tinyConfig()
	c.HeadDim = 48
	m, err := New(c, randomWeights(c, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.NewState(StateOptions{CacheType: CacheQ8_0}).Err(); err == nil {
		t.Error("q8_0 cache with head dim 48: no error")
	}
	if err := m.NewState(StateOptions{CacheType: CacheType(9)}).Err(); err == nil {
		t.Error("cache type 9: no error")
	}
	if err := m.NewState(StateOptions{}).Err(); err != nil {
		t.Errorf("f16 cache with head dim 48: %v", err)
	}
}

// BenchmarkCacheAttention measures one attention job's kernels (scores of
// four query heads against n keys, then the weighted sum of n values) for
// each cache type, with gemma-3-270m's head of 256 and one KV head; it
// reports the cache bytes read per second.
func BenchmarkCacheAttention(b *testing.B) {
	const hd = 256
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{512, 4096, 32768} {
		for _, typ := range []CacheType{CacheF32, CacheF16, CacheQ8_0} {
			b.Run(fmt.Sprintf("n=%d/%v", n, typ), func(b *testing.B) {
				c := newKVCache(typ, n, hd)
				row := make([]float32, 2*hd)
				for s := 0; s < n; s++ {
					for i := range row {
						row[i] = float32(r.NormFloat64())
					}
					c.store(s, row[:hd], row[hd:])
				}
				var q [4][]float32
				for h := range q {
					q[h] = row[:hd]
				}
				sc, tile := make([]float32, 4*n), make([]float32, 4*hd)
				b.SetBytes(2 * int64(n) * typ.rowBytes(hd))
				for b.Loop() {
					c.scores(&q, 0, 0, n, sc)
					c.values(sc, 0, 0, hd, n, tile)
				}
			})
		}
	}
}
