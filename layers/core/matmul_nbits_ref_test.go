package core

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// This file holds an independent float64 reference for MatMulNBits and a
// generator of random ONNX-layout cases, used by the tests.

var (
	f32ops = numeric.Float32Ops{}
	f32eng = compute.NewCPUEngine[float32](f32ops)
)

// zpKind selects the zero-point form of a generated case.
type zpKind int

const (
	zpNone zpKind = iota
	zpPacked
	zpFloatKind
)

func (z zpKind) String() string { return [...]string{"none", "packed", "float"}[z] }

// refCase is one MatMulNBits problem in ONNX layout plus its input A.
type refCase struct {
	attrs    MatMulNBitsAttrs
	aShape   []int
	a        []float32
	b        []uint8
	scales   []float32
	zpPacked []uint8
	zpFloat  []float32
	gIdx     []int32
	bias     []float32
}

func (c *refCase) kBlocks() int { return (c.attrs.K + c.attrs.BlockSize - 1) / c.attrs.BlockSize }

// weight returns W[n][k] in float64, decoded bit by bit from the ONNX
// layout description (matmul-nbits.md §4–§6), independently of the layer.
func (c *refCase) weight(n, k int) float64 {
	at := c.attrs
	kb := c.kBlocks()
	blob := at.BlockSize * at.Bits / 8
	blk := k / at.BlockSize
	if c.gIdx != nil {
		blk = int(c.gIdx[k])
	}
	bit := (k % at.BlockSize) * at.Bits
	byteIdx := n*kb*blob + (k/at.BlockSize)*blob + bit/8
	code := int(c.b[byteIdx]>>(bit%8)) & (1<<at.Bits - 1)
	zp := float64(int(1) << (at.Bits - 1))
	switch {
	case c.zpFloat != nil:
		zp = float64(c.zpFloat[n*kb+blk])
	case c.zpPacked != nil && c.gIdx == nil:
		row := (kb*at.Bits + 7) / 8
		zbit := blk * at.Bits
		zp = float64(int(c.zpPacked[n*row+zbit/8]>>(zbit%8)) & (1<<at.Bits - 1))
	}
	return (float64(code) - zp) * float64(c.scales[n*kb+blk])
}

// want returns the exact (float64) output and, per element, Σ|terms| for
// tolerances.
func (c *refCase) want() (y, mag []float64) {
	K, N := c.attrs.K, c.attrs.N
	m := len(c.a) / K
	y = make([]float64, m*N)
	mag = make([]float64, m*N)
	for r := 0; r < m; r++ {
		for n := 0; n < N; n++ {
			var s, g float64
			for k := 0; k < K; k++ {
				t := float64(c.a[r*K+k]) * c.weight(n, k)
				s += t
				g += math.Abs(t)
			}
			if c.bias != nil {
				s += float64(c.bias[n])
				g += math.Abs(float64(c.bias[n]))
			}
			y[r*N+n], mag[r*N+n] = s, g
		}
	}
	return y, mag
}

// wantInt8 emulates ONNX Runtime's CompInt8 path (accuracy level 4) in
// float64 after float32 quantization of A: per row and block,
// scaleA = max|a|/127, qa = roundHalfEven(a·(127/max|a|)), and
// Y = Σ_b scaleA·scaleB·Σ qa·(q − zp) + bias.
func (c *refCase) wantInt8() (y, mag []float64) {
	at := c.attrs
	K, N, bs := at.K, at.N, at.BlockSize
	kb := c.kBlocks()
	m := len(c.a) / K
	y = make([]float64, m*N)
	mag = make([]float64, m*N)
	for r := 0; r < m; r++ {
		for n := 0; n < N; n++ {
			var s, g float64
			for b := 0; b < kb; b++ {
				var amax float32
				for k := b * bs; k < min(K, (b+1)*bs); k++ {
					amax = max(amax, float32(math.Abs(float64(c.a[r*K+k]))))
				}
				if amax == 0 {
					continue
				}
				sa := amax / 127
				inv := 127 / amax
				sb := float64(c.scales[n*kb+b])
				var dot int64
				for k := b * bs; k < min(K, (b+1)*bs); k++ {
					qa := int64(math.RoundToEven(float64(c.a[r*K+k] * inv)))
					// weight(n,k)/scale recovers q − zp exactly for integer zero points.
					dot += qa * int64(math.Round(c.weight(n, k)/sb))
				}
				t := float64(dot) * float64(sa) * sb
				s += t
				g += math.Abs(t)
			}
			if c.bias != nil {
				s += float64(c.bias[n])
				g += math.Abs(float64(c.bias[n]))
			}
			y[r*N+n], mag[r*N+n] = s, g
		}
	}
	return y, mag
}

// usesInt8 mirrors when ORT 1.30.0 takes the int8 path.
func (c *refCase) usesInt8() bool {
	at := c.attrs
	return at.AccuracyLevel == 4 && c.zpFloat == nil && c.gIdx == nil && !(at.Bits == 2 && (at.BlockSize == 16 || at.BlockSize == 256))
}

// genCase makes a random case. rows is the leading shape of A (may be empty
// for rank 1).
func genCase(rng *rand.Rand, at MatMulNBitsAttrs, rows []int, zk zpKind, withGIdx, withBias bool) *refCase {
	c := &refCase{attrs: at}
	kb := c.kBlocks()
	blob := at.BlockSize * at.Bits / 8
	c.b = make([]uint8, at.N*kb*blob)
	for i := range c.b {
		c.b[i] = uint8(rng.IntN(256))
	}
	c.scales = make([]float32, at.N*kb)
	for i := range c.scales {
		c.scales[i] = float32(0.01 + 0.1*rng.Float64())
		if rng.IntN(3) == 0 {
			c.scales[i] = -c.scales[i] // ORT's symmetric scales may be negative
		}
	}
	switch zk {
	case zpPacked:
		c.zpPacked = make([]uint8, at.N*((kb*at.Bits+7)/8))
		for i := range c.zpPacked {
			c.zpPacked[i] = uint8(rng.IntN(256))
		}
	case zpFloatKind:
		c.zpFloat = make([]float32, at.N*kb)
		for i := range c.zpFloat {
			c.zpFloat[i] = float32(rng.Float64() * float64(int(1)<<at.Bits))
		}
	}
	if withGIdx {
		c.gIdx = make([]int32, at.K)
		for i := range c.gIdx {
			c.gIdx[i] = int32(rng.IntN(kb))
		}
	}
	if withBias {
		c.bias = make([]float32, at.N)
		for i := range c.bias {
			c.bias[i] = float32(rng.NormFloat64())
		}
	}
	c.aShape = append(append([]int(nil), rows...), at.K)
	m := 1
	for _, d := range rows {
		m *= d
	}
	c.a = make([]float32, m*at.K)
	for i := range c.a {
		c.a[i] = float32(rng.NormFloat64())
	}
	return c
}

// layer builds the MatMulNBits layer of c through NewMatMulNBitsONNX.
func (c *refCase) layer(t testing.TB, opts ...MatMulNBitsOption) *MatMulNBits[float32] {
	t.Helper()
	kb := c.kBlocks()
	at := c.attrs
	b := tensor.Must(tensor.New([]int{at.N, kb, at.BlockSize * at.Bits / 8}, c.b))
	sc := tensor.Must(tensor.New([]int{at.N * kb}, c.scales))
	var zp tensor.Any
	if c.zpPacked != nil {
		zp = tensor.Must(tensor.New([]int{at.N, len(c.zpPacked) / at.N}, c.zpPacked))
	}
	if c.zpFloat != nil {
		zp = tensor.Must(tensor.New([]int{at.N, kb}, c.zpFloat))
	}
	var g *tensor.Tensor[int32]
	if c.gIdx != nil {
		g = tensor.Must(tensor.New([]int{at.K}, c.gIdx))
	}
	var bias *tensor.Tensor[float32]
	if c.bias != nil {
		bias = tensor.Must(tensor.New([]int{at.N}, append([]float32(nil), c.bias...)))
	}
	l, err := NewMatMulNBitsONNX(c.name(), f32eng, f32ops, at, b, sc, zp, g, bias, opts...)
	if err != nil {
		t.Fatalf("NewMatMulNBitsONNX(%s): %v", c.name(), err)
	}
	return l
}

func (c *refCase) name() string {
	at := c.attrs
	zk := zpNone
	if c.zpPacked != nil {
		zk = zpPacked
	} else if c.zpFloat != nil {
		zk = zpFloatKind
	}
	return "K" + itoa(at.K) + "_N" + itoa(at.N) + "_b" + itoa(at.Bits) + "_bs" + itoa(at.BlockSize) +
		"_lvl" + itoa(at.AccuracyLevel) + "_zp" + zk.String() + map[bool]string{true: "_gidx", false: ""}[c.gIdx != nil] +
		map[bool]string{true: "_bias", false: ""}[c.bias != nil] + "_A" + shapeStr(c.aShape)
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func shapeStr(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "x"
		}
		out += itoa(d)
	}
	return out
}

// checkClose compares got with want elementwise: |got − want| ≤ rel·mag + abs.
func checkClose(t *testing.T, what string, got []float32, want, mag []float64, rel, abs float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= rel*mag[i]+abs) {
			if bad < 5 {
				t.Errorf("%s: y[%d] = %.9g, want %.9g (diff %.3g, allowed %.3g)", what, i, got[i], want[i], d, rel*mag[i]+abs)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

func runForward(t *testing.T, l *MatMulNBits[float32], shape []int, a []float32) *tensor.Tensor[float32] {
	t.Helper()
	y, err := l.Forward(context.Background(), tensor.Must(tensor.New(shape, a)))
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	return y
}
