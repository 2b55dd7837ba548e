package numeric

import (
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
)

// encodeBig rounds the exact value x to the format (nearest, ties to even),
// with the format's overflow rule.
func (f *refFormat) encodeBig(x *big.Float) uint16 {
	var sign uint16
	if x.Signbit() {
		sign = f.signBit()
		x = new(big.Float).Neg(x)
	}
	vals := f.valsInf
	i := sort.Search(len(vals), func(i int) bool { return big.NewFloat(vals[i]).Cmp(x) >= 0 })
	switch {
	case i == len(vals):
		return sign | uint16(i-1) // beyond Inf, or saturated
	case big.NewFloat(vals[i]).Cmp(x) == 0 || i == 0:
		return sign | uint16(i)
	}
	mid := new(big.Float).SetPrec(80).Add(big.NewFloat(vals[i-1]), big.NewFloat(vals[i]))
	mid.SetMantExp(mid, -1) // halve exactly
	switch c := x.Cmp(mid); {
	case c < 0, c == 0 && i%2 == 1:
		return sign | uint16(i-1)
	}
	return sign | uint16(i)
}

type reducedOps struct {
	add, sub, mul, div func(a, b uint16) uint16
	sqrt               func(a uint16) uint16
}

func reducedOpsFor(name string) reducedOps {
	switch name {
	case "Float16":
		o := Float16Ops{}
		w := func(op func(a, b Float16) Float16) func(a, b uint16) uint16 {
			return func(a, b uint16) uint16 { return op(Float16{a}, Float16{b}).bits }
		}
		return reducedOps{w(o.Add), w(o.Sub), w(o.Mul), w(o.Div), func(a uint16) uint16 { return o.Sqrt(Float16{a}).bits }}
	case "BFloat16":
		o := BFloat16Ops{}
		w := func(op func(a, b BFloat16) BFloat16) func(a, b uint16) uint16 {
			return func(a, b uint16) uint16 { return op(BFloat16{a}, BFloat16{b}).bits }
		}
		return reducedOps{w(o.Add), w(o.Sub), w(o.Mul), w(o.Div), func(a uint16) uint16 { return o.Sqrt(BFloat16{a}).bits }}
	case "Float8E4M3FN":
		o := Float8Ops{}
		w := func(op func(a, b Float8E4M3FN) Float8E4M3FN) func(a, b uint16) uint16 {
			return func(a, b uint16) uint16 { return uint16(op(Float8E4M3FN{uint8(a)}, Float8E4M3FN{uint8(b)}).bits) }
		}
		return reducedOps{w(o.Add), w(o.Sub), w(o.Mul), w(o.Div), func(a uint16) uint16 { return uint16(o.Sqrt(Float8E4M3FN{uint8(a)}).bits) }}
	}
	o := Float8E5M2Ops{}
	w := func(op func(a, b Float8E5M2) Float8E5M2) func(a, b uint16) uint16 {
		return func(a, b uint16) uint16 { return uint16(op(Float8E5M2{uint8(a)}, Float8E5M2{uint8(b)}).bits) }
	}
	return reducedOps{w(o.Add), w(o.Sub), w(o.Mul), w(o.Div), func(a uint16) uint16 { return uint16(o.Sqrt(Float8E5M2{uint8(a)}).bits) }}
}

// TestReducedOpsCorrectlyRounded checks Add, Sub, Mul, Div and Sqrt of the
// reduced-precision types against the exact result rounded once by the
// reference: exhaustively for the 8-bit types, on random and edge operands
// for the 16-bit ones.
func TestReducedOpsCorrectlyRounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, f := range refFormats() {
		t.Run(f.name, func(t *testing.T) {
			ops := reducedOpsFor(f.name)
			var pairs [][2]uint16
			if f.nbits() == 8 {
				for a := range 256 {
					for b := range 256 {
						pairs = append(pairs, [2]uint16{uint16(a), uint16(b)})
					}
				}
			} else {
				for range 20000 {
					pairs = append(pairs, [2]uint16{uint16(rng.Uint32()), uint16(rng.Uint32())})
				}
				// Operands of similar size, where cancellation and
				// ties are common, and tiny ones for subnormal results.
				for range 20000 {
					a := uint16(rng.IntN(0x300)) + 0x3a00
					pairs = append(pairs, [2]uint16{a, a + uint16(rng.IntN(64)) - 32 ^ uint16(rng.IntN(2))<<15})
					pairs = append(pairs, [2]uint16{uint16(rng.IntN(0x800)), uint16(rng.IntN(0x800))})
				}
			}
			type binop struct {
				name  string
				got   func(a, b uint16) uint16
				exact func(z, x, y *big.Float) *big.Float
				f64   func(x, y float64) float64
			}
			binops := []binop{
				{"Add", ops.add, (*big.Float).Add, func(x, y float64) float64 { return x + y }},
				{"Sub", ops.sub, (*big.Float).Sub, func(x, y float64) float64 { return x - y }},
				{"Mul", ops.mul, (*big.Float).Mul, func(x, y float64) float64 { return x * y }},
				{"Div", ops.div, (*big.Float).Quo, func(x, y float64) float64 { return x / y }},
			}
			fails := 0
			for _, p := range pairs {
				x, y := f.decode(p[0]), f.decode(p[1])
				for _, op := range binops {
					got := op.got(p[0], p[1])
					var want uint16
					r := op.f64(x, y)
					switch {
					case math.IsNaN(r):
						if !f.isNaN(got) {
							t.Errorf("%s(%v, %v): got %#x, want NaN", op.name, x, y, got)
							fails++
						}
						continue
					case math.IsInf(r, 0) || math.IsInf(x, 0) || math.IsInf(y, 0):
						want = f.encode(r)
					default:
						z := op.exact(new(big.Float).SetPrec(400), big.NewFloat(x), big.NewFloat(y))
						want = f.encodeBig(z)
					}
					if got != want && !(r == 0 && got&^f.signBit() == 0 && want&^f.signBit() == 0) {
						t.Errorf("%s(%v, %v): got %#x (%v), want %#x (%v)", op.name, x, y, got, f.decode(got), want, f.decode(want))
						fails++
					}
				}
				if fails > 20 {
					t.Fatal("too many failures")
				}
			}
			for i := 0; i < 1<<f.nbits(); i++ {
				b := uint16(i)
				x := f.decode(b)
				if math.IsNaN(x) || x < 0 || math.IsInf(x, 0) {
					continue
				}
				want := f.encodeBig(new(big.Float).SetPrec(400).Sqrt(big.NewFloat(x)))
				if x == 0 {
					want = b // √±0 = ±0
				}
				if got := ops.sqrt(b); got != want {
					t.Errorf("Sqrt(%v): got %#x, want %#x", x, got, want)
				}
			}
		})
	}
}
