package gemma3

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// nbitsNode is a MatMulNBits node's weights as read from the graph.
type nbitsNode struct {
	q     *numeric.BlockQuantized
	level int64
	bias  []float32
	dense []float32 // the dequantized weights when a g_idx reorders the blocks
}

// quantBytes reads a uint8 initializer (quantized codes or zero points).
func (g *ox) quantBytes(what, name string) []uint8 {
	if g.err != nil {
		return nil
	}
	t := g.m.Initializer(name)
	if t == nil || t.GetDataType() != int32(onnx.Uint8) {
		g.fail("%s %q is not a uint8 initializer", what, name)
		return nil
	}
	b, err := onnx.TensorData[uint8](g.m, t)
	if err != nil {
		g.err = fmt.Errorf("gemma3: ONNX initializer %s: %w", name, err)
	}
	return b
}

// readNBits reads a MatMulNBits node: B, scales, packed uint8 zero points,
// g_idx and bias. A g_idx that maps column k to block k/block_size is
// dropped; any other is applied by dequantizing the weights to float32
// with it (the packed zero points then ignored, as ONNX Runtime 1.30's
// CPU kernel ignores them with a g_idx).
func (g *ox) readNBits(n *onnxpb.NodeProto) *nbitsNode {
	if g.err != nil {
		return nil
	}
	in := n.GetInput()
	if len(in) < 3 || in[1] == "" || in[2] == "" {
		g.fail("MatMulNBits %s has no weights or scales", n.GetName())
		return nil
	}
	q := &numeric.BlockQuantized{N: int(attr(g, n, "N", int64(0))), K: int(attr(g, n, "K", int64(0))),
		Bits: int(attr(g, n, "bits", int64(4))), BlockSize: int(attr(g, n, "block_size", int64(0)))}
	q.B = g.quantBytes("MatMulNBits "+n.GetName()+" weights", in[1])
	q.Scales = g.floats(in[2])
	if len(in) > 3 && in[3] != "" {
		q.ZeroPoints = g.quantBytes("MatMulNBits "+n.GetName()+" zero points", in[3])
	}
	nb := &nbitsNode{q: q, level: attr(g, n, "accuracy_level", int64(0))}
	if g.err != nil {
		return nil
	}
	if err := q.Validate(); err != nil {
		g.err = fmt.Errorf("gemma3: ONNX MatMulNBits %s: %w", n.GetName(), err)
		return nil
	}
	if len(in) > 5 && in[5] != "" {
		nb.bias = g.floats(in[5])
		if g.err == nil && len(nb.bias) != q.N {
			g.fail("MatMulNBits %s: bias %q has %d values for N = %d", n.GetName(), in[5], len(nb.bias), q.N)
		}
	}
	if len(in) > 4 && in[4] != "" {
		t := g.m.Initializer(in[4])
		if t == nil || t.GetDataType() != int32(onnx.Int32) {
			g.fail("MatMulNBits %s: g_idx %q is not an int32 initializer", n.GetName(), in[4])
			return nil
		}
		gi, err := onnx.TensorData[int32](g.m, t)
		if err != nil {
			g.err = fmt.Errorf("gemma3: ONNX initializer %s: %w", in[4], err)
			return nil
		}
		if len(gi) != q.K {
			g.fail("MatMulNBits %s: g_idx %q has %d values for K = %d", n.GetName(), in[4], len(gi), q.K)
			return nil
		}
		kb := q.KBlocks()
		trivial := true
		for k, b := range gi {
			if b < 0 || int(b) >= kb {
				g.fail("MatMulNBits %s: g_idx[%d] = %d outside [0, %d)", n.GetName(), k, b, kb)
				return nil
			}
			trivial = trivial && int(b) == k/q.BlockSize
		}
		if !trivial {
			nb.dense = make([]float32, q.N*q.K)
			zp := float32(q.DefaultZeroPoint())
			for j := 0; j < q.N; j++ {
				for k, b := range gi {
					nb.dense[j*q.K+k] = (float32(q.Code(j, k)) - zp) * q.Scale(j, int(b))
				}
			}
		}
	}
	return nb
}

// rows returns rows [lo, hi) of nb (a Split of a packed projection).
func (nb *nbitsNode) rows(lo, hi int) *nbitsNode {
	q := nb.q
	kb, blob := q.KBlocks(), q.BlobSize()
	r := &nbitsNode{level: nb.level, q: &numeric.BlockQuantized{N: hi - lo, K: q.K, Bits: q.Bits, BlockSize: q.BlockSize,
		B: q.B[lo*kb*blob : hi*kb*blob], Scales: q.Scales[lo*kb : hi*kb]}}
	if q.ZeroPoints != nil {
		zb := q.ZeroPointRowBytes()
		r.q.ZeroPoints = q.ZeroPoints[lo*zb : hi*zb]
	}
	if nb.bias != nil {
		r.bias = nb.bias[lo:hi]
	}
	if nb.dense != nil {
		r.dense = nb.dense[lo*q.K : hi*q.K]
	}
	return r
}

// matrix packs nb for internal/qgemm (or keeps its float32 weights) and
// adds its bias.
func (g *ox) matrix(nb *nbitsNode, name string) Matrix {
	if g.err != nil || nb == nil {
		return nil
	}
	var m Matrix
	if nb.dense != nil {
		m = &Dense{N: nb.q.N, K: nb.q.K, Data: nb.dense}
	} else {
		act := qgemm.Float32
		var opts []qgemm.PackOption
		if nb.level == 4 {
			// Int8 activations; 24-bit scales as layers/core stores them.
			act = qgemm.Int8
			opts = append(opts, qgemm.CompactScales())
		}
		pm, err := qgemm.PackNBits(nb.q, opts...)
		if err != nil {
			g.err = fmt.Errorf("gemma3: ONNX MatMulNBits %s: %w", name, err)
			return nil
		}
		m = &NBits{Q: nb.q, m: pm, act: act}
	}
	if nb.bias != nil {
		m = &Biased{Matrix: m, Bias: nb.bias}
	}
	return m
}

// nbits reads and packs a MatMulNBits node's weights.
func (g *ox) nbits(n *onnxpb.NodeProto) Matrix {
	return g.matrix(g.readNBits(n), n.GetName())
}

// NBits is a Matrix in ONNX Runtime's MatMulNBits layout (from an ONNX
// export), packed for internal/qgemm. MatMul uses float32 activations, or
// int8 ones for accuracy_level 4, as ONNX Runtime does.
type NBits struct {
	Q   *numeric.BlockQuantized
	m   *qgemm.Matrix
	act qgemm.Activations
}

var _ Matrix = (*NBits)(nil)

// Dims returns N and K.
func (b *NBits) Dims() (int, int) { return b.Q.N, b.Q.K }

// Row dequantizes row j.
func (b *NBits) Row(j int, dst []float32) {
	if err := b.Q.DequantizeRow(dst[:b.Q.K], j); err != nil {
		panic(err) // validated by PackNBits
	}
}

// MatMul computes y = x·Wᵀ with qgemm.
func (b *NBits) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	return b.m.MatMul(ctx, y, x, rows, nil, qgemm.Options{Activations: b.act, Threads: threads})
}

// Biased is a Matrix whose products add a bias (MatMulNBits' bias input):
// y = x·Wᵀ + Bias. Row returns W's rows without it.
type Biased struct {
	Matrix
	Bias []float32 // N values
}

// MatMul computes y = x·Wᵀ + Bias.
func (b *Biased) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	if err := b.Matrix.MatMul(ctx, y, x, rows, threads); err != nil {
		return err
	}
	n := len(b.Bias)
	for r := 0; r < rows; r++ {
		yr := y[r*n : (r+1)*n]
		for j, v := range b.Bias {
			yr[j] += v
		}
	}
	return nil
}
