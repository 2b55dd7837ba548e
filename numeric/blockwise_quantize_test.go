package numeric

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// mlasQuantizeRef is an independent, statement-by-statement Go transcription
// of ONNX Runtime's MLAS BlockwiseQuantizer<float, bs, bits, true>::
// quantizeAndTranspose as the Python MatMulNBitsQuantizer calls it: src is
// [rows=K][columns=N] with leading dimension N, dst and zero points start
// zeroed (numpy zeros), and thread blocks of kPack quantization blocks run one
// column at a time.
func mlasQuantizeRef(src []float32, rows, columns, bs, bits int, symmetric bool) (dst []uint8, scales []float32, zps []uint8) {
	kPack := 8 / bits
	kMid := 1 << (bits - 1)
	kMax := float32(int(1)<<bits - 1)
	rowBlks := (rows + bs - 1) / bs
	qRows := (rowBlks*bs*bits + 7) / 8
	dst = make([]uint8, qRows*columns)
	scales = make([]float32, rowBlks*columns)
	if !symmetric {
		zps = make([]uint8, ((rowBlks*bits+7)/8)*columns)
	}
	thrdRowBlks := (rows + bs*kPack - 1) / (bs * kPack)
	for blk := 0; blk < thrdRowBlks*columns; blk++ {
		zpBytes := make([]uint8, kPack)
		vi := make([]uint8, kPack)
		for i := range zpBytes {
			zpBytes[i] = uint8(kMid)
		}
		r := (blk / columns) * bs * kPack
		c := blk % columns
		rEnd := min(r+bs*kPack, rows)
		metaRow := r / bs
		for kp := 0; kp < kPack; kp++ {
			mn, mx := float32(math.MaxFloat32), float32(-math.MaxFloat32)
			rowStart := r + kp*bs
			rowEnd := min(rowStart+bs, rEnd)
			for i := rowStart; i < rowEnd; i++ {
				v := src[i*columns+c]
				if v < mn {
					mn = v
				}
				if v > mx {
					mx = v
				}
			}
			if rowStart < rowEnd {
				idx := c*rowBlks + metaRow + kp
				if symmetric {
					m := mn
					if float32(math.Abs(float64(mx))) > float32(math.Abs(float64(mn))) {
						m = mx
					}
					scales[idx] = -m / float32(kMid)
				} else {
					mn, mx = min(mn, 0), max(mx, 0)
					s := (mx - mn) / kMax
					zf := mn
					if s != 0 {
						zf = 0 - mn/s
					}
					switch {
					case zf < 0:
						zpBytes[kp] = 0
					case zf > kMax:
						zpBytes[kp] = uint8(kMax)
					default:
						zpBytes[kp] = uint8(math.Round(float64(zf)))
					}
					scales[idx] = s
				}
			}
		}
		if !symmetric {
			var b uint8
			for kp := 0; kp < kPack; kp++ {
				b |= zpBytes[kp] << (kp * bits)
			}
			zps[c*((rowBlks+kPack-1)/kPack)+metaRow/kPack] = b
		}
		for i := r; i < rEnd; i += kPack {
			for l := 0; l < kPack && i+l < rEnd; l++ {
				metaR := (i + l) / bs
				s := scales[c*rowBlks+metaR]
				var rs float32
				if s != 0 {
					rs = 1 / s
				}
				zp := int32(zpBytes[metaR%kPack])
				v := src[(i+l)*columns+c]
				x := float32(math.Round(float64(float32(v*rs) + float32(zp))))
				vi[l] = uint8(min(max(x, 0), kMax))
			}
			var b uint8
			for l := 0; l < kPack; l++ {
				b |= (vi[l] & uint8(kMax)) << (l * bits)
			}
			dst[c*qRows+i/kPack] = b
		}
	}
	return dst, scales, zps
}

func randWeights(r *rand.Rand, n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.05)
	}
	return w
}

func transpose(w []float32, rows, cols int) []float32 {
	t := make([]float32, len(w))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = w[i*cols+j]
		}
	}
	return t
}

func TestQuantizeBlockwiseMatchesMLAS(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{2, 4, 8} {
		for _, bs := range []int{16, 32, 64, 128, 256} {
			for _, sym := range []bool{true, false} {
				for _, k := range []int{bs, 3 * bs, 2*bs + 1, 2*bs + 3, bs + bs/2 + 2, 3*bs + 1, 5} {
					n := 3
					wKN := randWeights(r, k*n)
					// Some blocks all positive, all negative or all zero.
					for j := 0; j < min(k, bs); j++ {
						wKN[j*n+0] = float32(math.Abs(float64(wKN[j*n+0])))
						wKN[j*n+1] = -float32(math.Abs(float64(wKN[j*n+1])))
					}
					wantB, wantS, wantZ := mlasQuantizeRef(wKN, k, n, bs, bits, sym)
					got, err := QuantizeBlockwiseKN(wKN, k, n, BlockOptions{Bits: bits, BlockSize: bs, Symmetric: sym, Padding: PadORT})
					if err != nil {
						t.Fatal(err)
					}
					if err := got.Validate(); err != nil {
						t.Fatal(err)
					}
					name := func() string { return fmt.Sprintf("bits=%d bs=%d K=%d symmetric=%v", bits, bs, k, sym) }
					if !bytesEqual(got.B, wantB) {
						t.Errorf("%s: B differs from MLAS at byte %d", name(), firstDiff(got.B, wantB))
					}
					for i := range wantS {
						if math.Float32bits(got.Scales[i]) != math.Float32bits(wantS[i]) {
							t.Errorf("%s: scale[%d] = %v, want %v", name(), i, got.Scales[i], wantS[i])
							break
						}
					}
					if sym != (got.ZeroPoints == nil) || !bytesEqual(got.ZeroPoints, wantZ) {
						t.Errorf("%s: zero points %x, want %x", name(), got.ZeroPoints, wantZ)
					}
					// The default padding differs only at k >= K, and the
					// [N][K] entry point gives the same result.
					def, err := QuantizeBlockwise(transpose(wKN, k, n), n, k, BlockOptions{Bits: bits, BlockSize: bs, Symmetric: sym})
					if err != nil {
						t.Fatal(err)
					}
					for row := 0; row < n; row++ {
						for kk := 0; kk < k; kk++ {
							if def.Code(row, kk) != got.Code(row, kk) {
								t.Fatalf("%s: PadZeroPoint Code(%d,%d) = %d, PadORT %d", name(), row, kk, def.Code(row, kk), got.Code(row, kk))
							}
						}
						for b := 0; b < def.KBlocks(); b++ {
							zp := def.ZeroPoint(row, b)
							for j := k - b*bs; j < bs && j >= 0; j++ {
								off := (row*def.KBlocks() + b) * def.BlobSize()
								if c := PackedCode(def.B[off:off+def.BlobSize()], bits, j); c != zp {
									t.Fatalf("%s: padding code at row %d block %d offset %d = %d, want zero point %d", name(), row, b, j, c, zp)
								}
							}
						}
					}
					if !f32BitsEqual(def.Scales, got.Scales) || !bytesEqual(def.ZeroPoints, got.ZeroPoints) {
						t.Errorf("%s: scales or zero points depend on the padding mode or orientation", name())
					}
				}
			}
		}
	}
}

func TestQuantizeBlockwiseHandWorked(t *testing.T) {
	// Symmetric 4-bit, one block of 16: extreme 4 -> scale -0.5, r = -2.
	// 0.75 -> 6.5 -> 7 and -0.25 -> 8.5 -> 9 show round half away from zero
	// (half to even would give 6 and 8).
	w := make([]float32, 16)
	copy(w, []float32{1, -2, 0.5, 4, 0.75, -0.25})
	q, err := QuantizeBlockwise(w, 1, 16, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	// codes 6, 12, 7, 0, 7, 9, 8... -> bytes 0xC6, 0x07, 0x97, 0x88 x5
	wantB := []uint8{0xC6, 0x07, 0x97, 0x88, 0x88, 0x88, 0x88, 0x88}
	if !bytesEqual(q.B, wantB) || q.Scales[0] != -0.5 || q.ZeroPoints != nil {
		t.Errorf("symmetric: B %x scales %v zp %v; want B %x scales [-0.5] zp nil", q.B, q.Scales, q.ZeroPoints, wantB)
	}
	deq, _ := q.Dequantize()
	want := []float32{1, -2, 0.5, 4, 0.5, -0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !equalF32(deq, want) {
		t.Errorf("symmetric dequantized %v, want %v", deq, want)
	}

	// Tie in magnitude picks the minimum: [-1, 1] -> scale +1/8, and 1
	// saturates at 15 (0.875).
	w = make([]float32, 16)
	w[0], w[1] = -1, 1
	q, _ = QuantizeBlockwise(w, 1, 16, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true})
	if q.Scales[0] != 0.125 || q.B[0] != 0xF0 {
		t.Errorf("tie: scale %v byte0 %#x, want 0.125 0xF0", q.Scales[0], q.B[0])
	}

	// Asymmetric 4-bit: [-1, 2, 0.5, 0...] -> scale 3/15, zp 5; 0.5 -> 7.5 -> 8.
	w = make([]float32, 16)
	copy(w, []float32{-1, 2, 0.5})
	q, _ = QuantizeBlockwise(w, 1, 16, BlockOptions{Bits: 4, BlockSize: 16})
	wantB = []uint8{0xF0, 0x58, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}
	if !bytesEqual(q.B, wantB) || q.Scales[0] != float32(3)/15 || !bytesEqual(q.ZeroPoints, []uint8{0x85}) {
		t.Errorf("asymmetric: B %x scale %v zp %x; want B %x scale %v zp [85]", q.B, q.Scales[0], q.ZeroPoints, wantB, float32(3)/15)
	}

	// The reciprocal matters: [1, 0.1, 0...] asymmetric gives scale 1/15 and
	// r = 1/scale; float32(0.1*r) = 1.4999999 -> code 1, while 0.1/scale is
	// 1.5 -> 2. MLAS multiplies by the reciprocal.
	w = make([]float32, 16)
	w[0], w[1] = 1, 0.1
	q, _ = QuantizeBlockwise(w, 1, 16, BlockOptions{Bits: 4, BlockSize: 16})
	if q.Code(0, 1) != 1 || q.Code(0, 0) != 15 || q.ZeroPoint(0, 0) != 0 {
		t.Errorf("reciprocal: codes %d %d zp %d, want 15 1 0", q.Code(0, 0), q.Code(0, 1), q.ZeroPoint(0, 0))
	}

	// 8-bit symmetric: extreme -2 -> scale 2/128; 1 -> 64 + 128 = 192.
	w = make([]float32, 16)
	w[0], w[1] = -2, 1
	q, _ = QuantizeBlockwise(w, 1, 16, BlockOptions{Bits: 8, BlockSize: 16, Symmetric: true})
	if q.Scales[0] != 0.015625 || q.B[0] != 0 || q.B[1] != 192 || q.B[2] != 128 {
		t.Errorf("8-bit: scale %v B[:3] %v, want 0.015625 [0 192 128]", q.Scales[0], q.B[:3])
	}

	// 2-bit symmetric: extreme 1 -> scale -0.5, r = -2: 1 -> 0, -0.5 -> 3,
	// 0.3 -> 1.4 -> 1, 0 -> 2: byte 0 = 0 | 3<<2 | 1<<4 | 2<<6 = 0x9C.
	w = make([]float32, 16)
	copy(w, []float32{1, -0.5, 0.3})
	q, _ = QuantizeBlockwise(w, 1, 16, BlockOptions{Bits: 2, BlockSize: 16, Symmetric: true})
	if q.Scales[0] != -0.5 || !bytesEqual(q.B, []uint8{0x9C, 0xAA, 0xAA, 0xAA}) {
		t.Errorf("2-bit: scale %v B %x, want -0.5 [9c aa aa aa]", q.Scales[0], q.B)
	}
}

func TestQuantizeBlockwiseSpecialBlocks(t *testing.T) {
	mk := func(f func(j int) float32) []float32 {
		w := make([]float32, 16)
		for j := range w {
			w[j] = f(j)
		}
		return w
	}
	tests := []struct {
		name      string
		w         []float32
		sym       bool
		wantScale float32
		wantZP    uint8
		wantCode0 uint8
	}{
		{"asym all positive", mk(func(j int) float32 { return float32(j + 1) }), false, float32(16) / 15, 0, 1},
		{"asym all negative", mk(func(j int) float32 { return -float32(j + 1) }), false, float32(16) / 15, 15, 14},
		{"asym all zero", mk(func(int) float32 { return 0 }), false, 0, 0, 0},
		{"sym all zero", mk(func(int) float32 { return 0 }), true, float32(math.Copysign(0, -1)), 8, 8},
		{"sym all positive", mk(func(j int) float32 { return float32(j + 1) }), true, -2, 8, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := QuantizeBlockwise(tc.w, 1, 16, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: tc.sym})
			if err != nil {
				t.Fatal(err)
			}
			if math.Float32bits(q.Scales[0]) != math.Float32bits(tc.wantScale) || q.ZeroPoint(0, 0) != tc.wantZP || q.Code(0, 0) != tc.wantCode0 {
				t.Errorf("scale %v (bits %#x), zp %d, code0 %d; want %v (%#x), %d, %d", q.Scales[0], math.Float32bits(q.Scales[0]),
					q.ZeroPoint(0, 0), q.Code(0, 0), tc.wantScale, math.Float32bits(tc.wantScale), tc.wantZP, tc.wantCode0)
			}
			checkRoundTrip(t, q, tc.w)
		})
	}
}

// checkRoundTrip asserts |w - dequant| <= |scale|/2 per element, or <= |scale|
// for codes saturated at 0 or the top code (the extreme of a symmetric block
// on the short side of the range, or an asymmetric range shifted by the
// rounding of the zero point).
func checkRoundTrip(t *testing.T, q *BlockQuantized, w []float32) {
	t.Helper()
	deq, err := q.Dequantize()
	if err != nil {
		t.Fatal(err)
	}
	top := uint8(1<<q.Bits - 1)
	for n := 0; n < q.N; n++ {
		for k := 0; k < q.K; k++ {
			s := math.Abs(float64(q.Scale(n, k/q.BlockSize)))
			bound := s * 0.5 * (1 + 1e-5)
			if c := q.Code(n, k); c == 0 || c == top {
				bound = s * (1 + 1e-5)
			}
			if d := math.Abs(float64(w[n*q.K+k]) - float64(deq[n*q.K+k])); d > bound {
				t.Fatalf("bits %d bs %d: |w - deq| at [%d][%d] = %g > %g (w %v, deq %v, code %d, scale %v)",
					q.Bits, q.BlockSize, n, k, d, bound, w[n*q.K+k], deq[n*q.K+k], q.Code(n, k), s)
			}
		}
	}
}

func TestQuantizeBlockwiseRoundTripAndError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, k = 8, 300 // ragged for every block size
	w := randWeights(r, n*k)
	var prev float64
	for _, bits := range []int{2, 4, 8} {
		for _, sym := range []bool{true, false} {
			q, err := QuantizeBlockwise(w, n, k, BlockOptions{Bits: bits, BlockSize: 32, Symmetric: sym})
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, q, w)
			e, err := q.Error(w)
			if err != nil {
				t.Fatal(err)
			}
			// Independent float64 check of the reported RMSE.
			deq, _ := q.Dequantize()
			var ss float64
			for i := range w {
				d := float64(w[i]) - float64(deq[i])
				ss += d * d
			}
			if want := math.Sqrt(ss / float64(len(w))); math.Abs(e.RMSE-want) > 1e-12 {
				t.Errorf("bits %d: RMSE %g, want %g", bits, e.RMSE, want)
			}
			if sym {
				if prev != 0 && e.RelativeRMSE > prev/3 {
					t.Errorf("bits %d relative RMSE %g is not well under the %d-bit %g", bits, e.RelativeRMSE, bits/2, prev)
				}
				prev = e.RelativeRMSE
			}
		}
	}
	for _, bs := range []int{16, 64, 128, 256} {
		q, err := QuantizeBlockwise(w, n, k, BlockOptions{Bits: 4, BlockSize: bs})
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, q, w)
	}
}

func TestQuantizeBlockwiseOddBlocksZeroPointPadding(t *testing.T) {
	// K = 40, block 16 -> 3 blocks: 4-bit zero points use 2 bytes per row and
	// the high nibble of each row's second byte is padding (8).
	w := make([]float32, 2*40)
	for i := range w {
		w[i] = float32(i%7) - 1 // min -1, max 5: scale 6/15, zp round(2.5) = 3
	}
	q, err := QuantizeBlockwise(w, 2, 40, BlockOptions{Bits: 4, BlockSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.ZeroPoints) != 4 {
		t.Fatalf("len(ZeroPoints) = %d, want 2 rows * 2 bytes", len(q.ZeroPoints))
	}
	for row := 0; row < 2; row++ {
		for b := 0; b < 3; b++ {
			if zp := q.ZeroPoint(row, b); zp != 3 {
				t.Errorf("ZeroPoint(%d, %d) = %d, want 3", row, b, zp)
			}
		}
		if got := q.ZeroPoints[row*2+1] >> 4; got != 8 {
			t.Errorf("row %d padding nibble = %d, want 8", row, got)
		}
	}
	// 2-bit: 3 blocks in one byte, the top field is padding (2).
	q, _ = QuantizeBlockwise(w, 2, 40, BlockOptions{Bits: 2, BlockSize: 16})
	if len(q.ZeroPoints) != 2 || q.ZeroPoints[0]>>6 != 2 || q.ZeroPoints[1]>>6 != 2 {
		t.Errorf("2-bit zero points %x, want 2 bytes with top field 2", q.ZeroPoints)
	}
	checkRoundTrip(t, q, w)
}

func TestQuantizeBlockwisePadORTHandChecked(t *testing.T) {
	// 4 bits, block 16, K = 19: block 1 holds k16..k18 (codes at offsets 0..2).
	// MLAS writes byte 0 = c16 | c17<<4 and byte 1 = c18 | (stale c17)<<4,
	// and leaves bytes 2..7 zero.
	w := make([]float32, 19)
	w[16], w[17], w[18] = 4, -2, 1 // scale -0.5: codes 0, 12, 6
	q, err := QuantizeBlockwise(w, 1, 19, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true, Padding: PadORT})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0xC0, 0xC6, 0, 0, 0, 0, 0, 0}
	if !bytesEqual(q.B[8:], want) {
		t.Errorf("PadORT last blob %x, want %x", q.B[8:], want)
	}
	q, _ = QuantizeBlockwise(w, 1, 19, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true})
	want = []uint8{0xC0, 0x86, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88}
	if !bytesEqual(q.B[8:], want) {
		t.Errorf("PadZeroPoint last blob %x, want %x", q.B[8:], want)
	}
	// K = 17: the partial byte starts a thread block's second quantization
	// block, so its high nibble repeats the high nibble of block 0's last byte.
	w = make([]float32, 17)
	w[15], w[16] = 4, 1 // block 0: scale -0.5, code(15) = 0; block 1: scale -0.125, code 0
	q, _ = QuantizeBlockwise(w, 1, 17, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true, Padding: PadORT})
	if q.B[7] != 0x08 || q.B[8] != 0x00 {
		t.Errorf("K=17 PadORT: block 0 last byte %#x block 1 byte 0 %#x, want 0x08 0x00", q.B[7], q.B[8])
	}
	// Block 0 with extreme 4 (scale -0.5): code(14) = 6, code(15) = 12, so
	// block 1's partial byte gets the stale high nibble 12.
	w[13], w[14], w[15] = 4, 1, -2
	q, _ = QuantizeBlockwise(w, 1, 17, BlockOptions{Bits: 4, BlockSize: 16, Symmetric: true, Padding: PadORT})
	if q.B[7] != 0xC6 || q.B[8] != 0xC0 {
		t.Errorf("K=17 PadORT: bytes %#x %#x, want 0xc6 0xc0 (stale high nibble 12)", q.B[7], q.B[8])
	}
}

func TestQuantizeBlockwiseErrors(t *testing.T) {
	w := make([]float32, 32)
	tests := []struct {
		name   string
		w      []float32
		n, k   int
		opts   BlockOptions
		substr string
	}{
		{"bits 3", w, 1, 32, BlockOptions{Bits: 3, BlockSize: 16}, "bits 3"},
		{"block 48", w, 1, 32, BlockOptions{Bits: 4, BlockSize: 48}, "block size 48"},
		{"block 512", w, 1, 32, BlockOptions{Bits: 4, BlockSize: 512}, "block size 512"},
		{"block 0", w, 1, 32, BlockOptions{Bits: 4}, "block size 0"},
		{"padding", w, 1, 32, BlockOptions{Bits: 4, BlockSize: 16, Padding: 7}, "padding mode 7"},
		{"N 0", w, 0, 32, BlockOptions{Bits: 4, BlockSize: 16}, "N=0 K=32"},
		{"len", w, 2, 17, BlockOptions{Bits: 4, BlockSize: 16}, "got 32 weights, want [N][K] = 2*17 = 34"},
		{"huge", w, 1 << 20, 1 << 20, BlockOptions{Bits: 4, BlockSize: 16}, "too large"},
		{"NaN", append(make([]float32, 20), float32(math.NaN())), 1, 21, BlockOptions{Bits: 4, BlockSize: 16}, "weight [0][20]"},
		{"Inf", append(make([]float32, 33), float32(math.Inf(-1))), 2, 17, BlockOptions{Bits: 4, BlockSize: 16}, "weight [1][16]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := QuantizeBlockwise(tc.w, tc.n, tc.k, tc.opts)
			if err == nil || !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("QuantizeBlockwise = %v, want error containing %q", err, tc.substr)
			}
		})
	}
	// The [K][N] entry point names the [N][K] position and its own order.
	wkn := make([]float32, 2*17)
	wkn[5*2+1] = float32(math.NaN()) // k=5, n=1
	if _, err := QuantizeBlockwiseKN(wkn, 17, 2, BlockOptions{Bits: 4, BlockSize: 16}); err == nil || !strings.Contains(err.Error(), "[1][5]") {
		t.Errorf("QuantizeBlockwiseKN NaN: %v, want position [1][5]", err)
	}
	if _, err := QuantizeBlockwiseKN(wkn, 16, 2, BlockOptions{Bits: 4, BlockSize: 16}); err == nil || !strings.Contains(err.Error(), "[K][N]") {
		t.Errorf("QuantizeBlockwiseKN length: %v, want [K][N] in message", err)
	}
}

func bytesEqual(a, b []uint8) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDiff(a, b []uint8) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func f32BitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
