package numeric_test

import (
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

func ExampleFloat16FromFloat32() {
	for _, f := range []float32{1, 0.1, 65504, 65520, 1e-8} {
		h := numeric.Float16FromFloat32(f)
		fmt.Printf("%v -> %#04x = %v (exactly %v)\n", f, h.Bits(), h, h.Float32())
	}
	// Output:
	// 1 -> 0x3c00 = 1 (exactly 1)
	// 0.1 -> 0x2e66 = 0.1 (exactly 0.099975586)
	// 65504 -> 0x7bff = 65504 (exactly 65504)
	// 65520 -> 0x7c00 = +Inf (exactly +Inf)
	// 1e-08 -> 0x0000 = 0 (exactly 0)
}

func ExampleFloat16FromFloat64() {
	// 1 + 2^-11 + 2^-40 lies just above the midpoint of 1 and the next
	// Float16. Rounding once gets the upper neighbour; going through
	// float32 first lands exactly on the midpoint, which ties to even.
	x := 1 + math.Ldexp(1, -11) + math.Ldexp(1, -40)
	fmt.Println(numeric.Float16FromFloat64(x).Bits() == 0x3c01)
	fmt.Println(numeric.Float16FromFloat32(float32(x)).Bits() == 0x3c00)
	// Output:
	// true
	// true
}

func ExampleBFloat16FromFloat32() {
	b := numeric.BFloat16FromFloat32(1.0 / 3)
	fmt.Printf("%#04x %v %v\n", b.Bits(), b, b.Float32())
	// Output: 0x3eab 0.334 0.33398438
}

func ExampleFloat8E4M3FNFromFloat32() {
	// E4M3FN has no infinities: out-of-range values and ±Inf saturate.
	for _, f := range []float32{0.3, 448, 1000, float32(math.Inf(-1)), float32(math.NaN())} {
		e := numeric.Float8E4M3FNFromFloat32(f)
		fmt.Printf("%v -> %#02x = %v\n", f, e.Bits(), e)
	}
	// Output:
	// 0.3 -> 0x2a = 0.3
	// 448 -> 0x7e = 448
	// 1000 -> 0x7e = 448
	// -Inf -> 0xfe = -448
	// NaN -> 0x7f = NaN
}

func ExampleFloat8E5M2FromFloat32() {
	for _, f := range []float32{57344, 61440, 0.1} {
		e := numeric.Float8E5M2FromFloat32(f)
		fmt.Printf("%v -> %#02x = %v\n", f, e.Bits(), e)
	}
	// Output:
	// 57344 -> 0x7b = 57344
	// 61440 -> 0x7c = +Inf
	// 0.1 -> 0x2e = 0.09
}

func ExampleUint8Ops() {
	ops := numeric.Uint8Ops{}
	fmt.Println(ops.Add(250, 10), ops.Sub(3, 5), ops.Div(7, 0), ops.FromFloat32(2.5), ops.FromFloat32(-1))
	// Output: 255 0 255 2 0
}

func ExampleFloat16Ops() {
	ops := numeric.Float16Ops{}
	a, b := ops.FromFloat32(1), ops.FromFloat32(3)
	fmt.Println(ops.Div(a, b), ops.Sqrt(b), ops.Add(ops.FromFloat32(65504), ops.FromFloat32(32)))
	// Output: 0.3333 1.732 +Inf
}

func ExampleFloat32SliceToFloat16() {
	src := []float32{0.5, -2, 1e5}
	dst := make([]numeric.Float16, len(src))
	n := numeric.Float32SliceToFloat16(dst, src)
	fmt.Println(n, dst)
	// Output: 3 [0.5 -2 +Inf]
}
