package exec

import (
	"context"
	"math"
	"slices"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "NonMaxSuppression", 10, 0, buildNMS)
}

// buildNMS makes NonMaxSuppression: for each batch and class, the boxes
// whose score exceeds score_threshold, by decreasing score (equal scores in
// box order), each kept unless its IoU with a kept box exceeds
// iou_threshold, at most max_output_boxes_per_class of them (0 or absent:
// none). The output lists [batch, class, box] in that order.
func buildNMS(n *Node) (Kernel, error) {
	cpb, err := n.Int("center_point_box", 0)
	if err != nil {
		return nil, err
	}
	if cpb != 0 && cpb != 1 {
		return nil, attrErr("center_point_box = %d, want 0 or 1", cpb)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		bs, ss := in[0].Shape(), in[1].Shape()
		if len(bs) != 3 || bs[2] != 4 || len(ss) != 3 || ss[0] != bs[0] || ss[2] != bs[1] {
			return nil, shapeErr("boxes of shape %v and scores of shape %v, want [B, N, 4] and [B, C, N]", bs, ss)
		}
		maxOut := int64(0)
		if v := opt(in, 2); v != nil {
			m, err := ints(v)
			if err != nil {
				return nil, err
			}
			if len(m) != 1 {
				return nil, shapeErr("max_output_boxes_per_class of shape %v, want one value", v.Shape())
			}
			maxOut = max(m[0], 0)
		}
		scalar := func(i int, def float64) (float64, error) {
			v := opt(in, i)
			if v == nil {
				return def, nil
			}
			if v.Size() != 1 {
				return 0, shapeErr("input %d of shape %v, want one value", i, v.Shape())
			}
			f, err := cast(v, numeric.Float64, false)
			if err != nil {
				return 0, err
			}
			return f.(*tensor.Tensor[float64]).Data()[0], nil
		}
		iouTh, err := scalar(3, 0)
		if err != nil {
			return nil, err
		}
		scoreTh, err := scalar(4, math.Inf(-1))
		if err != nil {
			return nil, err
		}
		if err := checkLike(ctx, 8, in[0]); err != nil {
			return nil, err
		}
		if err := checkLike(ctx, 8+8, in[1]); err != nil {
			return nil, err
		}
		bf, err := cast(in[0], numeric.Float64, false)
		if err != nil {
			return nil, err
		}
		sf, err := cast(in[1], numeric.Float64, false)
		if err != nil {
			return nil, err
		}
		boxes, scores := bf.(*tensor.Tensor[float64]).Data(), sf.(*tensor.Tensor[float64]).Data()
		nb, nc, nbox := ss[0], ss[1], ss[2]
		var sel []int64
		cand := make([]int, 0, nbox)
		var kept []int
		for b := range nb {
			bx := boxes[b*nbox*4 : (b+1)*nbox*4]
			for c := range nc {
				sc := scores[(b*nc+c)*nbox : (b*nc+c+1)*nbox]
				cand = cand[:0]
				for i, s := range sc {
					if s > scoreTh {
						cand = append(cand, i)
					}
				}
				slices.SortStableFunc(cand, func(p, q int) int { return -cmpT(sc[p], sc[q]) })
				kept = kept[:0]
				for _, i := range cand {
					if int64(len(kept)) >= maxOut {
						break
					}
					ok := true
					for _, j := range kept {
						if iou(bx[i*4:i*4+4], bx[j*4:j*4+4], cpb == 1) > iouTh {
							ok = false
							break
						}
					}
					if ok {
						kept = append(kept, i)
						sel = append(sel, int64(b), int64(c), int64(i))
					}
				}
			}
		}
		return tensor.New([]int{len(sel) / 3, 3}, sel)
	}), nil
}

// iou is the intersection over union of boxes a and b: [y1, x1, y2, x2]
// (any two opposite corners), or [x_center, y_center, width, height] when
// center.
func iou(a, b []float64, center bool) float64 {
	corners := func(v []float64) (y1, x1, y2, x2 float64) {
		if center {
			return v[1] - v[3]/2, v[0] - v[2]/2, v[1] + v[3]/2, v[0] + v[2]/2
		}
		return min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])
	}
	ay1, ax1, ay2, ax2 := corners(a)
	by1, bx1, by2, bx2 := corners(b)
	ih := max(0, min(ay2, by2)-max(ay1, by1))
	iw := max(0, min(ax2, bx2)-max(ax1, bx1))
	inter := ih * iw
	union := (ay2-ay1)*(ax2-ax1) + (by2-by1)*(bx2-bx1) - inter
	if inter <= 0 || union <= 0 {
		return 0
	}
	return inter / union
}
