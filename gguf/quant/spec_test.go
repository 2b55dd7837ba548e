package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

// specDecode decodes one block of t from p following the formulas of the
// GGUF spec notes (shared/specs/gguf.md §3), element by element in float64.
// It shares no code with the package's decoders. It returns nil for the
// types it does not cover (the i-quants, checked against ggml's goldens).
func specDecode(t Type, p []byte) []float64 {
	h := func(o int) float64 {
		return float64(numeric.Float16FromBits(uint16(p[o]) | uint16(p[o+1])<<8).Float32())
	}
	lo := func(b byte) int { return int(b & 15) }
	hi := func(b byte) int { return int(b >> 4) }
	switch t {
	case Q4_0, Q4_1:
		y := make([]float64, 32)
		d, m, off := h(0), 0.0, 2
		if t == Q4_1 {
			m, off = h(2), 4
		}
		for j := 0; j < 16; j++ {
			q0, q1 := lo(p[off+j]), hi(p[off+j])
			if t == Q4_0 {
				y[j], y[j+16] = float64(q0-8)*d, float64(q1-8)*d
			} else {
				y[j], y[j+16] = float64(q0)*d+m, float64(q1)*d+m
			}
		}
		return y
	case Q5_0, Q5_1:
		y := make([]float64, 32)
		d, m, off := h(0), 0.0, 2
		if t == Q5_1 {
			m, off = h(2), 4
		}
		H := binary.LittleEndian.Uint32(p[off:])
		qs := p[off+4:]
		for j := 0; j < 16; j++ {
			q0 := lo(qs[j]) | int(H>>j&1)<<4
			q1 := hi(qs[j]) | int(H>>(j+16)&1)<<4
			if t == Q5_0 {
				y[j], y[j+16] = float64(q0-16)*d, float64(q1-16)*d
			} else {
				y[j], y[j+16] = float64(q0)*d+m, float64(q1)*d+m
			}
		}
		return y
	case Q8_0:
		y := make([]float64, 32)
		for j := range y {
			y[j] = float64(int8(p[2+j])) * h(0)
		}
		return y
	case Q4_K, Q5_K:
		y := make([]float64, 256)
		d, dmin := h(0), h(2)
		S := p[4:16]
		sc := func(s int) (int, int) {
			if s < 4 {
				return int(S[s] & 63), int(S[s+4] & 63)
			}
			return int(S[s+4]&0x0F) | int(S[s-4]>>6)<<4, int(S[s+4]>>4) | int(S[s]>>6)<<4
		}
		qh, qs := []byte(nil), p[16:]
		if t == Q5_K {
			qh, qs = p[16:48], p[48:]
		}
		for c := 0; c < 4; c++ {
			for l := 0; l < 32; l++ {
				b := qs[32*c+l]
				q0, q1 := lo(b), hi(b)
				if qh != nil {
					q0 += int(qh[l]>>(2*c)&1) * 16
					q1 += int(qh[l]>>(2*c+1)&1) * 16
				}
				s0, m0 := sc(2 * c)
				s1, m1 := sc(2*c + 1)
				y[64*c+l] = d*float64(s0)*float64(q0) - dmin*float64(m0)
				y[64*c+32+l] = d*float64(s1)*float64(q1) - dmin*float64(m1)
			}
		}
		return y
	case Q6_K:
		y := make([]float64, 256)
		d := h(208)
		for half := 0; half < 2; half++ {
			ql, qh, scales := p[64*half:], p[128+32*half:], p[192+8*half:]
			for l := 0; l < 32; l++ {
				is := l / 16
				set := func(e int, q int, s int) {
					y[128*half+e] = d * float64(int8(scales[s])) * float64(q-32)
				}
				set(l, int(ql[l]&0xF)|int(qh[l]&3)<<4, is)
				set(l+32, int(ql[l+32]&0xF)|int(qh[l]>>2&3)<<4, is+2)
				set(l+64, int(ql[l]>>4)|int(qh[l]>>4&3)<<4, is+4)
				set(l+96, int(ql[l+32]>>4)|int(qh[l]>>6&3)<<4, is+6)
			}
		}
		return y
	case Q8_K:
		y := make([]float64, 256)
		d := float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
		for j := range y {
			y[j] = float64(int8(p[4+j])) * d
		}
		return y
	case Q2_K:
		y := make([]float64, 256)
		d, dmin := h(80), h(82)
		for i := range y {
			q := int(p[16+32*(i/128)+i%32]>>(2*(i%128/32))) & 3
			sc := p[i/16]
			y[i] = d*float64(sc&15)*float64(q) - dmin*float64(sc>>4)
		}
		return y
	case Q3_K:
		// ggml's own formulation: four little-endian words of 6-bit scales.
		y := make([]float64, 256)
		d := h(108)
		w := [3]uint32{binary.LittleEndian.Uint32(p[96:]), binary.LittleEndian.Uint32(p[100:]), binary.LittleEndian.Uint32(p[104:])}
		var sw [16]byte
		for k, v := range [4]uint32{
			w[0]&0x0f0f0f0f | (w[2]&0x03030303)<<4,
			w[1]&0x0f0f0f0f | (w[2]>>2&0x03030303)<<4,
			w[0]>>4&0x0f0f0f0f | (w[2]>>4&0x03030303)<<4,
			w[1]>>4&0x0f0f0f0f | (w[2]>>6&0x03030303)<<4,
		} {
			binary.LittleEndian.PutUint32(sw[4*k:], v)
		}
		for i := range y {
			q := int(p[32+32*(i/128)+i%32]>>(2*(i%128/32))) & 3
			if p[i%32]>>(i/32)&1 == 0 {
				q -= 4
			}
			y[i] = d * float64(int(sw[i/16])-32) * float64(q)
		}
		return y
	case IQ4_NL, IQ4_XS:
		T := [16]float64{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
		n, off := 32, 2
		if t == IQ4_XS {
			n, off = 256, 8
		}
		y := make([]float64, n)
		for i := range y {
			b := p[off+16*(i/32)+i%16]
			v := T[lo(b)]
			if i%32 >= 16 {
				v = T[hi(b)]
			}
			s := 1.0
			if t == IQ4_XS {
				ib := i / 32
				sh := binary.LittleEndian.Uint16(p[2:])
				ls := int(p[4+ib/2]>>(4*(ib%2))&15) | int(sh>>(2*ib)&3)<<4
				s = float64(ls - 32)
			}
			y[i] = h(0) * s * v
		}
		return y
	case TQ1_0:
		y := make([]float64, 256)
		digit := func(q byte, k int) int { // k-th base-3 digit of the fraction q/256
			v := int(q)
			for ; k > 0; k-- {
				v = v * 3 % 256
			}
			return v * 3 / 256
		}
		i := 0
		for _, g := range []struct{ off, n, digits int }{{0, 32, 5}, {32, 16, 5}, {48, 4, 4}} {
			for k := 0; k < g.digits; k++ {
				for m := 0; m < g.n; m++ {
					y[i] = float64(digit(p[g.off+m], k)-1) * h(52)
					i++
				}
			}
		}
		return y
	case TQ2_0:
		y := make([]float64, 256)
		for i := range y {
			q := int(p[32*(i/128)+i%32]>>(2*(i%128/32))) & 3
			y[i] = float64(q-1) * h(64)
		}
		return y
	}
	return nil
}

var blockTypes = []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K, Q2_K, Q3_K, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0}

// randomBlock returns random block bytes of t whose scale fields are finite
// fp16/fp32 values of moderate size.
func randomBlock(t Type, r *rand.Rand) []byte {
	p := make([]byte, t.BlockBytes())
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	f16 := func(o int) {
		binary.LittleEndian.PutUint16(p[o:], numeric.Float16FromFloat32(float32(r.NormFloat64())).Bits())
	}
	switch t {
	case Q4_0, Q5_0, Q8_0, IQ4_NL, IQ4_XS, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S:
		f16(0)
	case Q4_1, Q5_1, Q4_K, Q5_K:
		f16(0)
		f16(2)
	case Q2_K:
		f16(80)
		f16(82)
	case Q3_K:
		f16(108)
	case TQ1_0:
		f16(52)
	case TQ2_0:
		f16(64)
	case Q6_K:
		f16(208)
	case Q8_K:
		binary.LittleEndian.PutUint32(p, math.Float32bits(float32(r.NormFloat64())))
	}
	return p
}

func TestDequantizeMatchesSpec(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range blockTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for trial := 0; trial < 200; trial++ {
				p := randomBlock(typ, r)
				got := make([]float32, typ.BlockSize())
				if err := Dequantize(typ, got, p); err != nil {
					t.Fatal(err)
				}
				want := specDecode(typ, p)
				for i := range got {
					if d := math.Abs(float64(got[i]) - want[i]); d > 1e-6*math.Abs(want[i])+1e-30 {
						t.Fatalf("block %x: element %d: got %v, want %v", p, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestDequantizeWorkedExample(t *testing.T) {
	// shared/specs/gguf.md §4: d = 0.5 (0x3800), qs[0] = 0x9F, other bytes 0x88.
	p := []byte{0x00, 0x38, 0x9F}
	for len(p) < 18 {
		p = append(p, 0x88)
	}
	y := make([]float32, 32)
	if err := Dequantize(Q4_0, y, p); err != nil {
		t.Fatal(err)
	}
	for i, v := range y {
		want := float32(0)
		switch i {
		case 0:
			want = 3.5
		case 16:
			want = 0.5
		}
		if v != want {
			t.Errorf("y[%d]: got %v, want %v", i, v, want)
		}
	}
}

func TestBlockLoadStore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	blocks := map[Type]Decoder{Q4_0: new(BlockQ4_0), Q4_1: new(BlockQ4_1), Q5_0: new(BlockQ5_0), Q5_1: new(BlockQ5_1),
		Q8_0: new(BlockQ8_0), Q4_K: new(BlockQ4_K), Q5_K: new(BlockQ5_K), Q6_K: new(BlockQ6_K), Q8_K: new(BlockQ8_K),
		Q2_K: new(BlockQ2_K), Q3_K: new(BlockQ3_K), IQ4_NL: new(BlockIQ4_NL), IQ4_XS: new(BlockIQ4_XS),
		TQ1_0: new(BlockTQ1_0), TQ2_0: new(BlockTQ2_0), IQ2_XXS: new(BlockIQ2_XXS), IQ2_XS: new(BlockIQ2_XS),
		IQ2_S: new(BlockIQ2_S), IQ3_XXS: new(BlockIQ3_XXS), IQ3_S: new(BlockIQ3_S), IQ1_S: new(BlockIQ1_S), IQ1_M: new(BlockIQ1_M),
		MXFP4: new(BlockMXFP4), NVFP4: new(BlockNVFP4), Q1_0: new(BlockQ1_0), Q2_0: new(BlockQ2_0)}
	for typ := range typeTraits {
		if _, ok := blocks[typ]; typ.Supported() && typ.BlockSize() > 1 && !ok {
			t.Errorf("%v: no block struct in this test", typ)
		}
	}
	for typ, b := range blocks {
		p := randomBlock(typ, r)
		b.Load(p)
		q := make([]byte, len(p))
		b.Store(q)
		if string(p) != string(q) {
			t.Errorf("%v: Store(Load(p)): got %x, want %x", typ, q, p)
		}
	}
}
