package numeric

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// spec9 is the hand-worked example of matmul-nbits.md §9: K=18, N=1, 4 bits,
// block size 16, no zero points.
func spec9() *BlockQuantized {
	return &BlockQuantized{
		N: 1, K: 18, Bits: 4, BlockSize: 16,
		B: []uint8{
			0x98, 0x7F, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
			0x3C, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
		},
		Scales: []float32{0.5, 0.25},
	}
}

func TestBlockQuantizedSpecExample(t *testing.T) {
	q := spec9()
	if err := q.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if q.KBlocks() != 2 || q.BlobSize() != 8 || q.ZeroPointRowBytes() != 1 {
		t.Fatalf("KBlocks, BlobSize, ZeroPointRowBytes = %d, %d, %d; want 2, 8, 1", q.KBlocks(), q.BlobSize(), q.ZeroPointRowBytes())
	}
	wantCodes := []uint8{8, 9, 15, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 12, 3}
	for k, want := range wantCodes {
		if got := q.Code(0, k); got != want {
			t.Errorf("Code(0, %d) = %d, want %d", k, got, want)
		}
	}
	w, err := q.Dequantize()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 18)
	want[1], want[2], want[3], want[16], want[17] = 0.5, 3.5, -0.5, 1.0, -1.25
	for k := range want {
		if w[k] != want[k] {
			t.Errorf("W[0][%d] = %v, want %v", k, w[k], want[k])
		}
	}
	// Y = A·Wᵀ with A from the spec is 6.5.
	a := []float32{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4}
	var y float32
	for k := range a {
		y += a[k] * w[k]
	}
	if y != 6.5 {
		t.Errorf("A·Wᵀ = %v, want 6.5", y)
	}

	// Explicit packed zero points 0x79: block 0 uses 9, block 1 uses 7.
	q.ZeroPoints = []uint8{0x79}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if z0, z1 := q.ZeroPoint(0, 0), q.ZeroPoint(0, 1); z0 != 9 || z1 != 7 {
		t.Errorf("ZeroPoint(0,0), (0,1) = %d, %d; want 9, 7", z0, z1)
	}
	w, _ = q.Dequantize()
	// k1 code 9 - zp 9 = 0; k16 code 12 - 7 = 5 -> 1.25; k17 3 - 7 = -4 -> -1.
	for _, c := range []struct {
		k    int
		want float32
	}{{0, -0.5}, {1, 0}, {2, 3}, {3, -1}, {16, 1.25}, {17, -1}} {
		if w[c.k] != c.want {
			t.Errorf("with zp 0x79: W[0][%d] = %v, want %v", c.k, w[c.k], c.want)
		}
	}
}

func TestBlockQuantizedValidate(t *testing.T) {
	ok := func() *BlockQuantized { return spec9() }
	tests := []struct {
		name   string
		mutate func(q *BlockQuantized)
		substr string
	}{
		{"bits 3", func(q *BlockQuantized) { q.Bits = 3 }, "bits 3"},
		{"block 24", func(q *BlockQuantized) { q.BlockSize = 24 }, "block size 24"},
		{"block 8", func(q *BlockQuantized) { q.BlockSize = 8 }, "block size 8"},
		{"block 512", func(q *BlockQuantized) { q.BlockSize = 512 }, "block size 512"},
		{"N 0", func(q *BlockQuantized) { q.N = 0 }, "N=0"},
		{"K -1", func(q *BlockQuantized) { q.K = -1 }, "K=-1"},
		{"short B", func(q *BlockQuantized) { q.B = q.B[:15] }, "B has 15 bytes, want N*k_blocks*blob_size = 1*2*8 = 16"},
		{"long scales", func(q *BlockQuantized) { q.Scales = append(q.Scales, 1) }, "3 scales, want N*k_blocks = 1*2 = 2"},
		{"zp 2 bytes", func(q *BlockQuantized) { q.ZeroPoints = []uint8{1, 2} }, "2 zero-point bytes, want N*ceil(k_blocks*bits/8) = 1*1 = 1"},
		{"huge", func(q *BlockQuantized) { q.N = math.MaxInt / 4 }, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := ok()
			tc.mutate(q)
			err := q.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tc.substr)
			}
			if !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "numeric: ") {
				t.Errorf("Validate() = %q, want numeric: ... %q wrapping ErrQuantization", err, tc.substr)
			}
			if _, err := q.Dequantize(); err == nil {
				t.Errorf("Dequantize on invalid value: got nil error")
			}
		})
	}
	var nilQ *BlockQuantized
	if err := nilQ.Validate(); !errors.Is(err, ErrQuantization) {
		t.Errorf("nil Validate() = %v, want ErrQuantization", err)
	}
}

func TestPackedCode(t *testing.T) {
	p := []uint8{0xE4, 0x3A} // 0xE4 = 11 10 01 00
	for i, want := range []uint8{0, 1, 2, 3, 2, 2, 3, 0} {
		if got := PackedCode(p, 2, i); got != want {
			t.Errorf("PackedCode(%x, 2, %d) = %d, want %d", p, i, got, want)
		}
	}
	for i, want := range []uint8{4, 0xE, 0xA, 3} {
		if got := PackedCode(p, 4, i); got != want {
			t.Errorf("PackedCode(%x, 4, %d) = %d, want %d", p, i, got, want)
		}
	}
	if got := PackedCode(p, 8, 1); got != 0x3A {
		t.Errorf("PackedCode(%x, 8, 1) = %d, want 0x3A", p, got)
	}
}

func TestDequantizeBlockBits(t *testing.T) {
	// 2 bits: codes 0,1,2,3 with zp 2, scale -0.5 -> 1, 0.5, 0, -0.5.
	dst := make([]float32, 4)
	DequantizeBlock(dst, []uint8{0xE4}, 2, -0.5, 2)
	if want := []float32{1, 0.5, 0, -0.5}; !equalF32(dst, want) {
		t.Errorf("2-bit DequantizeBlock = %v, want %v", dst, want)
	}
	// 8 bits: codes 0, 128, 255 with zp 128, scale 0.25.
	dst = make([]float32, 3)
	DequantizeBlock(dst, []uint8{0, 128, 255, 7}, 8, 0.25, 128)
	if want := []float32{-32, 0, 31.75}; !equalF32(dst, want) {
		t.Errorf("8-bit DequantizeBlock = %v, want %v", dst, want)
	}
	// 4 bits, odd length reads only the low nibble of the last byte.
	dst = make([]float32, 3)
	DequantizeBlock(dst, []uint8{0x21, 0xF3}, 4, 1, 0)
	if want := []float32{1, 2, 3}; !equalF32(dst, want) {
		t.Errorf("4-bit DequantizeBlock = %v, want %v", dst, want)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("DequantizeBlock with bits 3 did not panic")
		}
	}()
	DequantizeBlock(dst, []uint8{0, 0}, 3, 1, 0)
}

func TestDequantizeRowAndAccessorErrors(t *testing.T) {
	q := spec9()
	row := make([]float32, 20)
	if err := q.DequantizeRow(row, 0); err != nil {
		t.Fatal(err)
	}
	if row[2] != 3.5 || row[17] != -1.25 || row[18] != 0 {
		t.Errorf("DequantizeRow = %v", row)
	}
	if err := q.DequantizeRow(row, 1); !errors.Is(err, ErrQuantization) {
		t.Errorf("DequantizeRow row 1 of 1: got %v, want ErrQuantization", err)
	}
	if err := q.DequantizeRow(row[:17], 0); !errors.Is(err, ErrQuantization) {
		t.Errorf("DequantizeRow short dst: got %v, want ErrQuantization", err)
	}
	bad := spec9()
	bad.Bits = 5
	if err := bad.DequantizeRow(row, 0); !errors.Is(err, ErrQuantization) {
		t.Errorf("DequantizeRow invalid: got %v, want ErrQuantization", err)
	}
	if q.Scale(0, 1) != 0.25 {
		t.Errorf("Scale(0,1) = %v, want 0.25", q.Scale(0, 1))
	}
	for name, f := range map[string]func(){
		"Code k=18":      func() { q.Code(0, 18) },
		"Code n=-1":      func() { q.Code(-1, 0) },
		"ZeroPoint b=2":  func() { q.ZeroPoint(0, 2) },
		"Scale n=1":      func() { q.Scale(1, 0) },
		"ZeroPoint n=-1": func() { q.ZeroPoint(-1, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestBlockQuantizedError(t *testing.T) {
	q := spec9()
	w := make([]float32, 18)
	w[1], w[2], w[3], w[16], w[17] = 0.5, 3.5, -0.5, 1.0, -1.25
	w[5] = 0.1   // dequantized 0
	w[17] = -1.5 // dequantized -1.25: error 0.25, the max
	e, err := q.Error(w)
	if err != nil {
		t.Fatal(err)
	}
	wantRMSE := math.Sqrt((0.1*0.1 + 0.25*0.25) / 18)
	if math.Abs(e.RMSE-wantRMSE) > 1e-7 || math.Abs(e.MaxAbs-0.25) > 1e-7 || e.MaxAbsIndex != 17 {
		t.Errorf("Error = %+v, want RMSE %v MaxAbs 0.25 at 17", e, wantRMSE)
	}
	var sumW float64
	for _, x := range w {
		sumW += float64(x) * float64(x)
	}
	if want := wantRMSE / math.Sqrt(sumW/18); math.Abs(e.RelativeRMSE-want) > 1e-7 {
		t.Errorf("RelativeRMSE = %v, want %v", e.RelativeRMSE, want)
	}
	if _, err := q.Error(w[:17]); !errors.Is(err, ErrQuantization) {
		t.Errorf("Error with 17 weights: got %v, want ErrQuantization", err)
	}
	q.Bits = 7
	if _, err := q.Error(w); !errors.Is(err, ErrQuantization) {
		t.Errorf("Error on invalid: got %v, want ErrQuantization", err)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}
