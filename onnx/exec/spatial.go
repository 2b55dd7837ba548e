package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Spatial rearrangements: Pad, DepthToSpace, SpaceToDepth and Col2Im.
// Resize, Upsample and GridSample are in resize.go.

func init() {
	Register("", "Pad", 1, 0, buildPad)
	Register("", "DepthToSpace", 1, 0, buildDepthToSpace)
	Register("", "SpaceToDepth", 1, 0, buildSpaceToDepth)
	Register("", "Col2Im", 18, 0, buildCol2Im)
}

// padShape returns the shape of x (shape xs) padded by pb, pe (negative
// pads crop).
func padShape(xs, pb, pe []int, mode string) ([]int, error) {
	os := make([]int, len(xs))
	for i, n := range xs {
		o := n + pb[i] + pe[i]
		if o < 0 {
			return nil, shapeErr("Pad pads %d, %d crop more than dim %d's %d elements", pb[i], pe[i], i, n)
		}
		if n == 0 && o > 0 && mode != "constant" {
			return nil, shapeErr("Pad mode %s of the empty dim %d", mode, i)
		}
		os[i] = o
	}
	return os, nil
}

// padTables returns, per dim, the source index of every output index (−1:
// the constant) for pads pb and output shape os (from padShape) and mode
// constant, reflect, edge or wrap (NumPy's pad semantics).
func padTables(xs, pb, os []int, mode string) [][]int {
	tabs := make([][]int, len(xs))
	for i, n := range xs {
		t := make([]int, os[i])
		for j := range t {
			s := j - pb[i]
			if s < 0 || s >= n {
				switch mode {
				case "constant":
					s = -1
				case "edge":
					s = min(max(s, 0), n-1)
				case "wrap":
					s = ((s % n) + n) % n
				case "reflect":
					if n == 1 {
						s = 0
						break
					}
					p := 2 * (n - 1)
					s = ((s % p) + p) % p
					if s >= n {
						s = p - s
					}
				}
			}
			t[j] = s
		}
		tabs[i] = t
	}
	return tabs
}

// padT builds the padded tensor from the tables of padTables.
func padT[T tensor.Numeric](x []T, xs []int, tabs [][]int, os []int, cv T) (*tensor.Tensor[T], error) {
	y := make([]T, prod(os))
	nd := len(os)
	if len(y) == 0 || nd == 0 {
		copy(y, x)
		return tensor.New(os, y)
	}
	stride := tensor.Strides(xs)
	inner := os[nd-1]
	idx := make([]int, nd-1)
	last := tabs[nd-1]
	for r := range len(y) / inner {
		off, ok := 0, true
		for i := range nd - 1 {
			s := tabs[i][idx[i]]
			if s < 0 {
				ok = false
				break
			}
			off += s * stride[i]
		}
		row := y[r*inner : (r+1)*inner]
		if !ok {
			for j := range row {
				row[j] = cv
			}
		} else {
			for j, s := range last {
				if s < 0 {
					row[j] = cv
				} else {
					row[j] = x[off+s]
				}
			}
		}
		for i := nd - 2; i >= 0; i-- {
			if idx[i]++; idx[i] < os[i] {
				break
			}
			idx[i] = 0
		}
	}
	return tensor.New(os, y)
}

// padAny pads x; cv (nil: zero) holds the constant, of x's type.
func padAny(x tensor.Any, tabs [][]int, os []int, cv tensor.Any) (tensor.Any, error) {
	xs := x.Shape()
	switch t := x.(type) {
	case *tensor.Tensor[float32]:
		return padT(t.Data(), xs, tabs, os, first[float32](cv))
	case *tensor.Tensor[float64]:
		return padT(t.Data(), xs, tabs, os, first[float64](cv))
	case *tensor.Tensor[numeric.Float16]:
		return padT(t.Data(), xs, tabs, os, first[numeric.Float16](cv))
	case *tensor.Tensor[numeric.BFloat16]:
		return padT(t.Data(), xs, tabs, os, first[numeric.BFloat16](cv))
	case *tensor.Tensor[int8]:
		return padT(t.Data(), xs, tabs, os, first[int8](cv))
	case *tensor.Tensor[uint8]:
		return padT(t.Data(), xs, tabs, os, first[uint8](cv))
	case *tensor.Tensor[int16]:
		return padT(t.Data(), xs, tabs, os, first[int16](cv))
	case *tensor.Tensor[int32]:
		return padT(t.Data(), xs, tabs, os, first[int32](cv))
	case *tensor.Tensor[int64]:
		return padT(t.Data(), xs, tabs, os, first[int64](cv))
	}
	return nil, typeErr("Pad of element type %s is not supported", x.DType())
}

// first returns v's first element when v is a non-empty tensor of T, else
// T's zero.
func first[T tensor.Numeric](v tensor.Any) T {
	var z T
	if t, ok := v.(*tensor.Tensor[T]); ok && t.Size() > 0 {
		return t.Data()[0]
	}
	return z
}

// scalarOf makes a scalar of element type dt holding f (for opset < 11
// Pad's float value attribute).
func scalarOf(dt numeric.DType, f float32) (tensor.Any, error) {
	switch dt {
	case numeric.Int8:
		return tensor.Scalar(int8(f)), nil
	case numeric.Uint8:
		return tensor.Scalar(uint8(f)), nil
	case numeric.Int16:
		return tensor.Scalar(int16(f)), nil
	case numeric.Int32:
		return tensor.Scalar(int32(f)), nil
	case numeric.Int64:
		return tensor.Scalar(int64(f)), nil
	}
	return fromFloats(dt, []int{}, []float32{f})
}

func buildPad(n *Node) (Kernel, error) {
	mode, err := n.String("mode", "constant")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "constant", "reflect", "edge":
	case "wrap":
		if n.Opset < 19 {
			return nil, attrErr("Pad mode wrap needs opset 19, the model has %d", n.Opset)
		}
	default:
		return nil, attrErr("Pad mode %q, want constant, reflect, edge or wrap", mode)
	}
	var attrPads []int64
	var value float32
	if n.Opset < 11 {
		name := "pads"
		if n.Opset < 2 {
			name = "paddings"
		}
		if attrPads, err = n.Ints(name, nil); err != nil {
			return nil, err
		}
		if attrPads == nil {
			return nil, attrErr("Pad needs attribute %s", name)
		}
		if value, err = n.Float("value", 0); err != nil {
			return nil, err
		}
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		xs := x.Shape()
		r := len(xs)
		pads := attrPads
		var cv tensor.Any
		axes := make([]int, r)
		for i := range axes {
			axes[i] = i
		}
		if n.Opset >= 11 {
			if err := need(in, 2); err != nil {
				return nil, err
			}
			if in[1].DType() != numeric.Int64 {
				return nil, typeErr("Pad pads of element type %s, want int64", in[1].DType())
			}
			pads = in[1].(*tensor.Tensor[int64]).Data()
			if c := opt(in, 2); c != nil {
				if c.DType() != x.DType() || c.Size() != 1 {
					return nil, typeErr("Pad constant_value %s%v, want one %s", c.DType(), c.Shape(), x.DType())
				}
				cv = c
			}
			if a := opt(in, 3); a != nil {
				av, err := ints(a)
				if err != nil {
					return nil, err
				}
				axes = axes[:0]
				seen := make([]bool, r)
				for _, v := range av {
					ax, err := normAxis(v, r)
					if err != nil {
						return nil, err
					}
					if seen[ax] {
						return nil, shapeErr("Pad axes %v repeat axis %d", av, ax)
					}
					seen[ax] = true
					axes = append(axes, ax)
				}
			}
		} else if value != 0 {
			if cv, err = scalarOf(x.DType(), value); err != nil {
				return nil, err
			}
		}
		if len(pads) != 2*len(axes) {
			return nil, shapeErr("Pad pads %v for %d axes of input %v", pads, len(axes), xs)
		}
		pb, pe := make([]int, r), make([]int, r)
		for i, ax := range axes {
			b, e := pads[i], pads[i+len(axes)]
			if b < -maxAttr || b > maxAttr || e < -maxAttr || e > maxAttr {
				return nil, shapeErr("Pad pads %v out of range", pads)
			}
			pb[ax], pe[ax] = int(b), int(e)
		}
		os, err := padShape(xs, pb, pe, mode)
		if err != nil {
			return nil, err
		}
		if err := checkOut(ctx, x.DType(), os); err != nil {
			return nil, err
		}
		return padAny(x, padTables(xs, pb, os, mode), os, cv)
	}), nil
}

// blockArgs reads DepthToSpace's and SpaceToDepth's blocksize.
func blockArgs(n *Node, op string) (int, error) {
	b, err := n.Int("blocksize", 0)
	if err != nil {
		return 0, err
	}
	if b < 1 || b > 1<<16 {
		return 0, attrErr("%s blocksize %d, want at least 1", op, b)
	}
	return int(b), nil
}

func buildDepthToSpace(n *Node) (Kernel, error) {
	b, err := blockArgs(n, "DepthToSpace")
	if err != nil {
		return nil, err
	}
	mode, err := n.String("mode", "DCR")
	if err != nil {
		return nil, err
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, attrErr("DepthToSpace mode %q, want DCR or CRD", mode)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		xs := in[0].Shape()
		if len(xs) != 4 || xs[1]%(b*b) != 0 {
			return nil, shapeErr("DepthToSpace input of shape %v, want N×C×H×W with C a multiple of blocksize² = %d", xs, b*b)
		}
		nb, c, h, w := xs[0], xs[1]/(b*b), xs[2], xs[3]
		shape, perm := []int{nb, b, b, c, h, w}, []int{0, 3, 4, 1, 5, 2}
		if mode == "CRD" {
			shape, perm = []int{nb, c, b, b, h, w}, []int{0, 1, 4, 2, 5, 3}
		}
		return rearrange(ctx, in[0], shape, perm, []int{nb, c, h * b, w * b})
	}), nil
}

func buildSpaceToDepth(n *Node) (Kernel, error) {
	b, err := blockArgs(n, "SpaceToDepth")
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		xs := in[0].Shape()
		if len(xs) != 4 || xs[2]%b != 0 || xs[3]%b != 0 {
			return nil, shapeErr("SpaceToDepth input of shape %v, want N×C×H×W with H and W multiples of blocksize %d", xs, b)
		}
		nb, c, h, w := xs[0], xs[1], xs[2]/b, xs[3]/b
		return rearrange(ctx, in[0], []int{nb, c, h, b, w, b}, []int{0, 3, 5, 1, 2, 4}, []int{nb, c * b * b, h, w})
	}), nil
}

// rearrange reshapes x to shape, transposes it by perm and reshapes the
// result to out.
func rearrange(ctx context.Context, x tensor.Any, shape, perm, out []int) (tensor.Any, error) {
	v, err := reshape(x, shape)
	if err != nil {
		return nil, err
	}
	if v, err = transpose(ctx, v, perm); err != nil {
		return nil, err
	}
	return reshape(v, out)
}

// buildCol2Im builds Col2Im: the inverse of im2col, summing each column of
// input (N × C·prod(block_shape) × L) back into an image of image_shape.
func buildCol2Im(n *Node) (Kernel, error) {
	w, err := readWindow(n, "Col2Im", false)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		x := in[0]
		if !isFloat(x.DType()) {
			return nil, typeErr("Col2Im of %s, want a float type", x.DType())
		}
		img, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		blk, err := ints(in[2])
		if err != nil {
			return nil, err
		}
		if len(img) != len(blk) || len(img) == 0 {
			return nil, shapeErr("Col2Im image_shape %v and block_shape %v", img, blk)
		}
		nd := len(img)
		im, k := make([]int, nd), make([]int, nd)
		for i := range nd {
			if img[i] < 1 || img[i] > maxAttr || blk[i] < 1 || blk[i] > maxAttr {
				return nil, shapeErr("Col2Im image_shape %v, block_shape %v: want positive sizes", img, blk)
			}
			im[i], k[i] = int(img[i]), int(blk[i])
		}
		g, err := w.resolve(im, k)
		if err != nil {
			return nil, err
		}
		xs := x.Shape()
		K, L := prod(k), prod(g.out)
		if len(xs) != 3 || xs[1]%K != 0 || xs[2] != L {
			return nil, shapeErr("Col2Im input of shape %v, want N × C·%d × %d for image %v and block %v", xs, K, L, im, k)
		}
		nb, c := xs[0], xs[1]/K
		os := append([]int{nb, c}, im...)
		if err := checkExtra(ctx, x.DType(), os, 4*int64(prod(os))); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		imSp := prod(im)
		y := make([]float32, prod(os))
		kk, idx := make([]int, nd), make([]int, nd)
		sl := g.s[nd-1]
		for pl := range nb * c {
			dst := y[pl*imSp : (pl+1)*imSp]
			for r := range K {
				kernelIndex(k, r, kk)
				row := xv[(pl*K+r)*L : (pl*K+r+1)*L]
				g.runs(kk, idx, func(c0, img0, n int) {
					for t, v := range row[c0 : c0+n] {
						dst[img0+t*sl] += v
					}
				})
			}
		}
		return fromFloats(x.DType(), os, y)
	}), nil
}
