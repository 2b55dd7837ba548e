package tensor_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// UINT8 tensors hold quantized weights (two 4-bit codes per byte in the
// MatMulNBits layout). These tests cover what the quantization spec names:
// creation, packed-weight shapes, views, arithmetic through the engine and
// the edge values 0 and 255.

func TestUint8Create(t *testing.T) {
	quantizedData := []uint8{0x12, 0x34, 0x56, 0x78, 0x00, 0xff, 0x80, 0x7f}
	quantWeights, err := tensor.New[uint8]([]int{4, 2}, quantizedData)
	if err != nil {
		t.Fatal(err)
	}
	if quantWeights.DType() != numeric.Uint8 || quantWeights.DType().Size() != 1 {
		t.Fatalf("DType = %v (size %d), want uint8 (size 1)", quantWeights.DType(), quantWeights.DType().Size())
	}
	if !tensor.SameShape(quantWeights.Shape(), []int{4, 2}) || quantWeights.Size() != 8 {
		t.Fatalf("shape %v size %d, want [4 2] size 8", quantWeights.Shape(), quantWeights.Size())
	}
	for i, w := range quantizedData {
		v, err := quantWeights.At(i/2, i%2)
		if err != nil || v != w {
			t.Fatalf("At(%d, %d) = %#x, %v; want %#x", i/2, i%2, v, err, w)
		}
	}
	// New uses the data as storage: the caller's slice and the tensor agree.
	quantizedData[0] = 0xAB
	if quantWeights.Data()[0] != 0xAB {
		t.Fatalf("Data()[0] = %#x after writing the source slice, want 0xab (storage is shared)", quantWeights.Data()[0])
	}
	z, err := tensor.New[uint8]([]int{3, 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range z.Data() {
		if v != 0 {
			t.Fatalf("zero tensor element %d = %d, want 0", i, v)
		}
	}
	if s := tensor.Must(tensor.New([]int{2, 2}, []uint8{0, 1, 254, 255})).String(); s != "Tensor[uint8](2x2)[[0 1] [254 255]]" {
		t.Fatalf("String() = %q", s)
	}
}

func TestUint8BadShapes(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		data  []uint8
	}{
		{"too few bytes", []int{4, 2}, make([]uint8, 7)},
		{"too many bytes", []int{4, 2}, make([]uint8, 9)},
		{"packed blob short by one", []int{8, 2, 16}, make([]uint8, 8*2*16-1)},
		{"negative dimension", []int{4, -2}, nil},
		{"overflowing size", []int{math.MaxInt / 2, math.MaxInt / 2}, nil},
	}
	for _, tc := range tests {
		if _, err := tensor.New(tc.shape, tc.data); !errors.Is(err, tensor.ErrShape) {
			t.Errorf("%s: New(%v, %d bytes): got %v, want ErrShape", tc.name, tc.shape, len(tc.data), err)
		}
	}
	x := tensor.Must(tensor.New[uint8]([]int{4, 2}, nil))
	if _, err := x.Reshape(3, 3); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("Reshape [4 2] to [3 3]: got %v, want ErrShape", err)
	}
	if _, err := x.At(4, 0); !errors.Is(err, tensor.ErrIndex) {
		t.Errorf("At(4, 0): got %v, want ErrIndex", err)
	}
}

// TestUint8PackedWeights builds the MatMulNBits weight layout [N, k_blocks,
// blob] for N = 8 output features, K = 64 inputs, block size 32 and 4 bits:
// blob = 32·4/8 = 16 bytes, two codes per byte, low nibble first.
func TestUint8PackedWeights(t *testing.T) {
	const n, kBlocks, blob = 8, 2, 16
	codes := make([]uint8, n*kBlocks*blob*2) // one 4-bit code per weight
	for i := range codes {
		codes[i] = uint8(i*7) & 0xf
	}
	packed := make([]uint8, len(codes)/2)
	for i := range packed {
		packed[i] = codes[2*i] | codes[2*i+1]<<4
	}
	w, err := tensor.New([]int{n, kBlocks, blob}, packed)
	if err != nil {
		t.Fatal(err)
	}
	if w.Dims() != 3 || w.Dim(0) != n || w.Dim(1) != kBlocks || w.Dim(2) != blob {
		t.Fatalf("shape %v, want [%d %d %d]", w.Shape(), n, kBlocks, blob)
	}
	// Every code reads back through At.
	for row := range n {
		for blk := range kBlocks {
			for j := range blob * 2 {
				b, err := w.At(row, blk, j/2)
				if err != nil {
					t.Fatal(err)
				}
				got := b & 0xf
				if j%2 == 1 {
					got = b >> 4
				}
				if want := codes[(row*kBlocks+blk)*blob*2+j]; got != want {
					t.Fatalf("code (%d, %d, %d) = %d, want %d", row, blk, j, got, want)
				}
			}
		}
	}
	// The row-major layout flattens to [N, k_blocks·blob] and back.
	flat, err := w.Reshape(n, -1)
	if err != nil || flat.Dim(1) != kBlocks*blob {
		t.Fatalf("Reshape(%d, -1): %v, %v; want [%d %d]", n, flat, err, n, kBlocks*blob)
	}
	// Row 3 block 1 starts at byte (3·2+1)·16.
	v, _ := flat.At(3, blob)
	if v != packed[(3*kBlocks+1)*blob] {
		t.Fatalf("flat[3, %d] = %#x, want %#x", blob, v, packed[(3*kBlocks+1)*blob])
	}
	// Zero points: one 4-bit value per block, packed per row to ceil(k_blocks/2) bytes.
	zp, err := tensor.New([]int{n, (kBlocks + 1) / 2}, make([]uint8, n))
	if err != nil || zp.Size() != n {
		t.Fatalf("zero-point tensor: %v, %v", zp, err)
	}
}

func TestUint8Views(t *testing.T) {
	w := tensor.Must(tensor.New([]int{4, 2, 3}, make([]uint8, 24)))
	for i := range w.Data() {
		w.Data()[i] = uint8(i * 10)
	}
	row, err := w.Index(2) // [2 3] view of bytes 12..17
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := row.At(1, 2); v != 170 {
		t.Fatalf("Index(2).At(1, 2) = %d, want 170", v)
	}
	if err := row.Set(255, 0, 0); err != nil {
		t.Fatal(err)
	}
	if w.Data()[12] != 255 {
		t.Fatalf("write through Index view: Data()[12] = %d, want 255", w.Data()[12])
	}
	blocks, err := w.Slice(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := blocks.Reshape(-1)
	if err != nil || flat.Size() != 12 {
		t.Fatalf("Slice(1,3).Reshape(-1): %v, %v", flat, err)
	}
	flat.Data()[0] = 0
	if w.Data()[6] != 0 {
		t.Fatalf("write through Slice+Reshape view: Data()[6] = %d, want 0", w.Data()[6])
	}
	c := w.Copy()
	c.Data()[0] = 99
	if w.Data()[0] != 0 {
		t.Fatalf("Copy shares storage: original Data()[0] = %d, want 0", w.Data()[0])
	}
}

// TestUint8Engine runs uint8 arithmetic through the compute engine.
// numeric.Uint8Ops saturates: sums above 255 clamp to 255, differences below
// 0 clamp to 0.
func TestUint8Engine(t *testing.T) {
	ctx := context.Background()
	e := compute.NewCPUEngine[uint8](numeric.Uint8Ops{})
	a := tensor.Must(tensor.New([]int{2, 3}, []uint8{0, 1, 100, 128, 254, 255}))
	b := tensor.Must(tensor.New([]int{3}, []uint8{0, 255, 3}))
	tests := []struct {
		name string
		run  func() (*tensor.Tensor[uint8], error)
		want []uint8
	}{
		{"Add", func() (*tensor.Tensor[uint8], error) { return e.Add(ctx, a, b) }, []uint8{0, 255, 103, 128, 255, 255}},
		{"Sub", func() (*tensor.Tensor[uint8], error) { return e.Sub(ctx, a, b) }, []uint8{0, 0, 97, 128, 0, 252}},
		{"Mul", func() (*tensor.Tensor[uint8], error) { return e.Mul(ctx, a, b) }, []uint8{0, 255, 255, 0, 255, 255}},
		{"Div", func() (*tensor.Tensor[uint8], error) { return e.Div(ctx, a, b) }, []uint8{0, 0, 33, 255, 0, 85}},
		{"AddScalar", func() (*tensor.Tensor[uint8], error) { return e.AddScalar(ctx, a, 1) }, []uint8{1, 2, 101, 129, 255, 255}},
		{"MulScalar", func() (*tensor.Tensor[uint8], error) { return e.MulScalar(ctx, a, 2) }, []uint8{0, 2, 200, 255, 255, 255}},
		{"Sum axis 1", func() (*tensor.Tensor[uint8], error) { return e.Sum(ctx, a, 1, false) }, []uint8{101, 255}},
		{"Max axis 0", func() (*tensor.Tensor[uint8], error) { return e.Max(ctx, a, 0, false) }, []uint8{128, 254, 255}},
		{"Transpose", func() (*tensor.Tensor[uint8], error) { return e.Transpose(ctx, a, nil) }, []uint8{0, 128, 1, 254, 100, 255}},
	}
	for _, tc := range tests {
		got, err := tc.run()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i, w := range tc.want {
			if got.Data()[i] != w {
				t.Fatalf("%s(%v, %v): got %v, want %v", tc.name, a.Data(), b.Data(), got.Data(), tc.want)
			}
		}
	}
	// Edge values: 0 and 255 survive a round trip through the engine.
	edge := tensor.Must(tensor.New([]int{2}, []uint8{0, 255}))
	z := tensor.Must(tensor.New[uint8]([]int{2}, nil))
	got, err := e.Add(ctx, edge, z)
	if err != nil || got.Data()[0] != 0 || got.Data()[1] != 255 {
		t.Fatalf("Add(%v, 0): got %v, %v, want [0 255]", edge.Data(), got, err)
	}
	// Gather rows of a packed weight matrix (as an embedding lookup would).
	w := tensor.Must(tensor.New([]int{3, 2}, []uint8{0, 255, 17, 34, 51, 68}))
	idx := tensor.Must(tensor.New([]int{2}, []int64{2, -3}))
	rows, err := e.Gather(ctx, w, idx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := rows.Data(); d[0] != 51 || d[1] != 68 || d[2] != 0 || d[3] != 255 {
		t.Fatalf("Gather rows [2, -3]: got %v, want [51 68 0 255]", d)
	}
	if _, err := e.Add(ctx, a, tensor.Must(tensor.New[uint8]([]int{2}, nil))); !errors.Is(err, tensor.ErrShape) {
		t.Fatalf("Add [2 3] + [2]: got %v, want ErrShape", err)
	}
}
