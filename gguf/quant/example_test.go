package quant_test

import (
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// A row of 64 values quantized to Q4_0 (two blocks of 32) and decoded again:
// 4.5 bits per weight, each value within half a quantization step.
func ExampleQuantize() {
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i-32) / 8
	}
	t := quant.Q4_0
	n, err := t.RowBytes(len(x))
	if err != nil {
		log.Fatal(err)
	}
	enc := make([]byte, n)
	if err := quant.Quantize(t, enc, x); err != nil {
		log.Fatal(err)
	}
	y := make([]float32, len(x))
	if err := quant.Dequantize(t, y, enc); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v: %d bytes for %d values, %.1f bits per weight\n", t, n, len(x), t.BitsPerWeight())
	fmt.Printf("x[0:4] = %.3f\ny[0:4] = %.3f\n", x[:4], y[:4])
	// Output:
	// Q4_0: 36 bytes for 64 values, 4.5 bits per weight
	// x[0:4] = [-4.000 -3.875 -3.750 -3.625]
	// y[0:4] = [-4.000 -4.000 -3.500 -3.500]
}

// DotRows is the reference matrix-vector product over quantized rows.
func ExampleDotRows() {
	const k = 32
	w := make([]float32, 2*k) // two rows: all ones, then 0, 1, 2, …
	for i := 0; i < k; i++ {
		w[i] = 1
		w[k+i] = float32(i)
	}
	t := quant.Q8_0
	rb, _ := t.RowBytes(k)
	enc := make([]byte, 2*rb)
	if err := quant.Quantize(t, enc, w); err != nil {
		log.Fatal(err)
	}
	x := make([]float32, k)
	for i := range x {
		x[i] = 1
	}
	dst := make([]float32, 2)
	if err := quant.DotRows(t, dst, x, enc); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.2f\n", dst) // exact: 32 and 496
	// Output:
	// [32.00 496.09]
}

// One block struct at a time: Load reads the file encoding, Dequantize is
// ggml's reference decoder.
func ExampleDecoder() {
	x := make([]float32, quant.QK)
	for i := range x {
		x[i] = float32(i)
	}
	var b quant.BlockQ8_0
	b.Quantize(x)
	p := make([]byte, quant.Q8_0.BlockBytes())
	b.Store(p)

	var c quant.BlockQ8_0
	c.Load(p)
	y := make([]float32, quant.QK)
	c.Dequantize(y)
	fmt.Printf("%d bytes, codes %v…, y[31] = %.2f\n", len(p), c.Qs[:4], y[31])
	// Output:
	// 34 bytes, codes [0 4 8 12]…, y[31] = 31.01
}

func ExampleParseType() {
	for _, s := range []string{"Q4_K", "IQ4_NL", "F16", "Q9"} {
		t, err := quant.ParseType(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%v: blocks of %d in %d bytes, quantize %v\n", t, t.BlockSize(), t.BlockBytes(), t.CanQuantize())
	}
	// Output:
	// Q4_K: blocks of 256 in 144 bytes, quantize true
	// IQ4_NL: blocks of 32 in 18 bytes, quantize true
	// F16: blocks of 1 in 2 bytes, quantize true
	// quant: unknown type name "Q9": quant: unsupported type
}

// An IQ2_XXS block (all grid index 0, every sign positive, sub-block
// scale field 3, d = 0.5) as codes: each value is ((d·sc)·CodeScale)·code,
// here ((0.5·7)·1/8)·8 = 3.5, the same float32 that Dequantize gives.
func ExampleCodes() {
	p := make([]byte, quant.IQ2_XXS.BlockBytes())
	p[0], p[1] = 0x00, 0x38 // d = 0.5 as a float16
	for ib := range 8 {
		p[2+8*ib+7] = 3 << 4 // s = 3 in the top bits of each group's second word
	}
	var (
		codes [quant.QKK]int8
		sc    [16]int8
	)
	d, ok := quant.Codes(quant.IQ2_XXS, p, &codes, &sc)
	y := make([]float32, quant.QKK)
	if err := quant.Dequantize(quant.IQ2_XXS, y, p); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ok, d.Float32(), sc[0], quant.CodeScale(quant.IQ2_XXS), codes[0], y[0])
	fmt.Println(quant.CodeLevels(quant.IQ2_XXS))
	// Output:
	// true 0.5 7 0.125 8 3.5
	// [-43 -25 -8 8 25 43]
}
