package gemma3

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// TestMatrices compares every Matrix implementation on a random quantized
// matrix with a float64 product of the dequantized weights and the
// unrounded activations.
func TestMatrices(t *testing.T) {
	const n, k, rows = 40, 96, 3
	r := rand.New(rand.NewPCG(5, 5))
	w := make([]float32, n*k)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	x := make([]float32, rows*k)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, tc := range []struct {
		typ         quant.Type
		exact, fast float64 // tolerances relative to the output RMS
	}{{quant.F32, 1e-6, 1e-6}, {quant.Q8_0, 2e-2, 2e-2}, {quant.Q4_0, 2e-2, 2e-2}} {
		kk := k
		data := make([]byte, n*mustRowBytes(tc.typ, kk))
		if err := quant.Quantize(tc.typ, data, w); err != nil {
			t.Fatal(err)
		}
		b, err := NewBlocks(tc.typ, n, kk, data)
		if err != nil {
			t.Fatal(err)
		}
		deq := make([]float32, n*k)
		quant.Dequantize(tc.typ, deq, data)
		want := make([]float64, rows*n)
		var rms float64
		for i := 0; i < rows; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += float64(x[i*k+p]) * float64(deq[j*k+p])
				}
				want[i*n+j] = s
				rms += s * s
			}
		}
		rms = math.Sqrt(rms / float64(len(want)))
		mats := map[string]Matrix{"blocks": b}
		if tc.typ == quant.F32 {
			mats["dense"] = &Dense{N: n, K: k, Data: deq}
		} else {
			p, err := NewPacked(b)
			if err != nil {
				t.Fatal(err)
			}
			mats["packed"] = p
			st, err := NewPackedStack(b, b)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, rows*2*n)
			if err := st.MatMul(context.Background(), got, x, rows, 0); err != nil {
				t.Fatal(err)
			}
			want1 := make([]float32, rows*n)
			p.MatMul(context.Background(), want1, x, rows, 0)
			row, row1 := make([]float32, k), make([]float32, k)
			for i := 0; i < rows; i++ {
				for j := 0; j < 2*n; j++ {
					if w := want1[i*n+j%n]; got[i*2*n+j] != w {
						t.Fatalf("%v stacked [b; b]: y[%d][%d] = %v, want %v", tc.typ, i, j, got[i*2*n+j], w)
					}
				}
			}
			for j := 0; j < 2*n; j++ {
				st.Row(j, row)
				b.Row(j%n, row1)
				for c := range row {
					if row[c] != row1[c] {
						t.Fatalf("%v stacked Row(%d)[%d] = %v, want %v", tc.typ, j, c, row[c], row1[c])
					}
				}
			}
		}
		for name, m := range mats {
			got := make([]float32, rows*n)
			if err := m.MatMul(context.Background(), got, x, rows, 0); err != nil {
				t.Fatal(err)
			}
			var mx float64
			for i, v := range got {
				mx = math.Max(mx, math.Abs(float64(v)-want[i]))
			}
			tol := tc.exact
			if name != "blocks" {
				tol = tc.fast
			}
			if mx/rms > tol {
				t.Errorf("%v %s: max |diff| / rms = %.3g, want ≤ %g", tc.typ, name, mx/rms, tol)
			}
		}
	}
}

func mustRowBytes(t quant.Type, k int) int {
	n, err := t.RowBytes(k)
	if err != nil {
		panic(err)
	}
	return n
}
