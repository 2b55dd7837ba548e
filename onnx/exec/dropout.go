package exec

import (
	"context"
	"math/rand/v2"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "Dropout", 1, 6, buildDropoutOld)
	Register("", "Dropout", 7, 11, buildDropoutAttr)
	Register("", "Dropout", 12, 0, buildDropout)
}

// Dropout in inference mode is the identity with an all-true mask. In
// training mode each element is kept when a uniform [0, 1) draw is at
// least ratio, and kept elements are scaled by 1/(1−ratio). With a seed
// attribute the draws are those of NumPy's legacy generator after
// np.random.seed(seed) (MT19937, 53-bit doubles), as the ONNX reference
// does, so a seeded training Dropout matches it exactly; without one they
// come from a generator seeded anew for every run.

// buildDropoutOld is opsets 1 and 6: is_test (default 0, training) and
// ratio attributes, a mask of the data's type.
func buildDropoutOld(n *Node) (Kernel, error) {
	isTest, err := n.Int("is_test", 0)
	if err != nil {
		return nil, err
	}
	ratio, err := dropoutRatioAttr(n)
	if err != nil {
		return nil, err
	}
	return dropoutKernel(func([]tensor.Any) (float64, bool, error) { return ratio, isTest == 0, nil }, false, -1), nil
}

// buildDropoutAttr is opsets 7 to 11: always inference; the mask has the
// data's type before opset 10 and is bool from it.
func buildDropoutAttr(n *Node) (Kernel, error) {
	ratio, err := dropoutRatioAttr(n)
	if err != nil {
		return nil, err
	}
	return dropoutKernel(func([]tensor.Any) (float64, bool, error) { return ratio, false, nil }, n.Opset >= 10, -1), nil
}

// buildDropout is opset 12 on: ratio (default 0.5) and training_mode
// (default false) inputs, a seed attribute, a bool mask.
func buildDropout(n *Node) (Kernel, error) {
	seed := int64(-1)
	if n.Has("seed") {
		s, err := n.Int("seed", 0)
		if err != nil {
			return nil, err
		}
		if s < 0 || s > 1<<32-1 {
			return nil, attrErr("seed = %d, want 0 to 2³²−1", s)
		}
		seed = s
	}
	mode := func(in []tensor.Any) (float64, bool, error) {
		ratio := 0.5
		if r := opt(in, 1); r != nil {
			if !isFloat(r.DType()) || r.Size() != 1 {
				return 0, false, typeErr("ratio is %s%v, want a float scalar", r.DType(), r.Shape())
			}
			f, err := floats(r)
			if err != nil {
				return 0, false, err
			}
			ratio = float64(f[0])
			if r.DType() == numeric.Float64 {
				ratio = r.(*tensor.Tensor[float64]).Data()[0]
			}
		}
		training := false
		if t := opt(in, 2); t != nil {
			b, ok := t.(*tensor.Tensor[uint8])
			if !ok || b.Size() != 1 {
				return 0, false, typeErr("training_mode is %s%v, want a bool scalar", t.DType(), t.Shape())
			}
			training = b.Data()[0] != 0
		}
		if training && !(ratio >= 0 && ratio < 1) {
			return 0, false, typeErr("ratio %g, want 0 ≤ ratio < 1", ratio)
		}
		return ratio, training, nil
	}
	return dropoutKernel(mode, true, seed), nil
}

func dropoutRatioAttr(n *Node) (float64, error) {
	r, err := n.Float("ratio", 0.5)
	if err != nil {
		return 0, err
	}
	if !(r >= 0 && r < 1) {
		return 0, attrErr("ratio = %g, want 0 ≤ ratio < 1", r)
	}
	return float64(r), nil
}

// dropoutKernel runs Dropout with the ratio and mode that mode reads from
// the inputs; boolMask says whether the mask is bool or of the data's
// type; seed < 0 means unseeded.
func dropoutKernel(mode func([]tensor.Any) (float64, bool, error), boolMask bool, seed int64) Kernel {
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !isFloat(x.DType()) {
			return nil, typeErr("Dropout of %s, want a float type", x.DType())
		}
		ratio, training, err := mode(in)
		if err != nil {
			return nil, err
		}
		maskType := numeric.Uint8
		if !boolMask {
			maskType = x.DType()
		}
		if err := checkWork(ctx, x.DType().Size()+maskType.Size()+8, x.DType(), x.Shape()); err != nil {
			return nil, err
		}
		n := x.Size()
		keep := make([]bool, n)
		if !training || ratio == 0 {
			for i := range keep {
				keep[i] = true
			}
		} else {
			draw := dropoutSource(seed)
			for i := range keep {
				keep[i] = draw() >= ratio
			}
		}
		y := x
		if training && ratio != 0 {
			if y, err = dropoutScale(x, keep, ratio); err != nil {
				return nil, err
			}
		}
		mask, err := dropoutMask(maskType, x.Shape(), keep)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{y, mask}, nil
	}
}

// dropoutScale returns x·keep·1/(1−ratio), computed in x's precision (the
// half floats in float32) as NumPy does for float32 data and a Python
// float scale.
func dropoutScale(x tensor.Any, keep []bool, ratio float64) (tensor.Any, error) {
	scale := 1 / (1 - ratio)
	if x.DType() == numeric.Float64 {
		d := x.(*tensor.Tensor[float64]).Data()
		out := make([]float64, len(d))
		for i, v := range d {
			if keep[i] {
				out[i] = v * scale
			}
		}
		return tensor.New(x.Shape(), out)
	}
	d, err := floats(x)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(d))
	s := float32(scale)
	for i, v := range d {
		if keep[i] {
			out[i] = v * s
		}
	}
	return fromFloats(x.DType(), x.Shape(), out)
}

// dropoutMask is keep as a tensor of element type dt (1 and 0).
func dropoutMask(dt numeric.DType, shape []int, keep []bool) (tensor.Any, error) {
	if dt == numeric.Uint8 {
		m := make([]uint8, len(keep))
		for i, k := range keep {
			m[i] = b2u(k)
		}
		return tensor.New(shape, m)
	}
	m := make([]float32, len(keep))
	for i, k := range keep {
		if k {
			m[i] = 1
		}
	}
	if dt == numeric.Float64 {
		return tensor.New(shape, convSlice[float32, float64](m))
	}
	return fromFloats(dt, shape, m)
}

// dropoutSource returns uniform [0, 1) draws: NumPy's after
// np.random.seed(seed) when seed ≥ 0, fresh random ones otherwise.
func dropoutSource(seed int64) func() float64 {
	if seed < 0 {
		r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		return r.Float64
	}
	mt := newMT19937(uint32(seed))
	return mt.float64
}

// mt19937 is the Mersenne Twister MT19937 (Matsumoto and Nishimura, 1998)
// seeded as NumPy's legacy np.random.seed(int) seeds it (init_genrand).
type mt19937 struct {
	mt [624]uint32
	i  int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{i: 624}
	m.mt[0] = seed
	for i := 1; i < 624; i++ {
		m.mt[i] = 1812433253*(m.mt[i-1]^(m.mt[i-1]>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) uint32() uint32 {
	if m.i >= 624 {
		for k := 0; k < 624; k++ {
			y := m.mt[k]&0x80000000 | m.mt[(k+1)%624]&0x7fffffff
			v := m.mt[(k+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.mt[k] = v
		}
		m.i = 0
	}
	y := m.mt[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 is a uniform [0, 1) double from 53 random bits, as NumPy's
// random_sample (genrand_res53).
func (m *mt19937) float64() float64 {
	a, b := m.uint32()>>5, m.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}
