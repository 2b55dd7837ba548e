package numeric_test

import (
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
)

func ExampleNewQuantizationConfig() {
	config, err := numeric.NewQuantizationConfig(0.1, 128, true) // scale=0.1, zp=128, symmetric
	if err != nil {
		panic(err)
	}
	// -1/0.1 = -10 -> 118; 0.35/0.1 is exactly 3.5 in float32 and rounds
	// half to even -> 4 -> 132; 20/0.1 = 200 saturates at 255.
	for _, x := range []float32{-1, 0.35, 20} {
		q := config.Quantize(x)
		fmt.Println(x, "->", q, "->", config.Dequantize(q))
	}

	_, err = numeric.NewQuantizationConfig(0.1, 127, true)
	fmt.Println(err)
	// Output:
	// -1 -> 118 -> -1
	// 0.35 -> 132 -> 0.4
	// 20 -> 255 -> 12.7
	// numeric: symmetric 8-bit quantization needs zero point 128, got 127: numeric: invalid quantization
}

func ExamplePack4BitSlice() {
	packed := numeric.Pack4BitSlice([]uint8{1, 2, 3, 4})
	fmt.Printf("%#x\n", packed)
	fmt.Println(numeric.Unpack4BitSlice(packed))

	// An odd count pads the last high nibble with 0; Unpack4Bit with a
	// destination of the true length drops it.
	odd := numeric.Pack4BitSlice([]uint8{7, 8, 9})
	three := make([]uint8, 3)
	_ = numeric.Unpack4Bit(three, odd)
	fmt.Printf("%#x %v %v\n", odd, numeric.Unpack4BitSlice(odd), three)

	// Values above 15 are errors, never truncated.
	_, err := numeric.Pack4Bit(make([]uint8, 1), []uint8{3, 16})
	fmt.Println(err)
	// Output:
	// 0x2143
	// [1 2 3 4]
	// 0x8709 [7 8 9 0] [7 8 9]
	// numeric: pack 4-bit codes: src[1] = 16 exceeds 15: numeric: invalid quantization
}

func ExampleQuantizeBlockwise() {
	// W is [N=1][K=16]; one block of 16. Symmetric 4-bit: the extreme value
	// 4 gives scale 4/-8 = -0.5, zero point 8, code = round(x/-0.5 + 8).
	w := []float32{1, -2, 0.5, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3}
	q, err := numeric.QuantizeBlockwise(w, 1, 16, numeric.BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("B=% x scales=%v zero points=%v\n", q.B, q.Scales, q.ZeroPoints)
	deq, _ := q.Dequantize()
	fmt.Println(deq[:4], deq[15])
	e, _ := q.Error(w)
	fmt.Printf("max abs error %.2f at %d\n", e.MaxAbs, e.MaxAbsIndex)
	// Output:
	// B=c6 07 88 88 88 88 88 78 scales=[-0.5] zero points=[]
	// [1 -2 0.5 4] 0.5
	// max abs error 0.20 at 15
}
