// Package ortgolden loads the ONNX Runtime golden cases written by
// tools/ort/matmulnbits.mjs (testdata/ort/matmulnbits.json), so Go tests can
// compare against ONNX Runtime 1.30.0 without Node or the network.
//
// Every case is one com.microsoft MatMulNBits node. Tensors keep ONNX's
// layouts unchanged: B is [N, k_blocks, blob] bytes, scales [N, k_blocks] or
// flat, packed zero points [N, ceil(k_blocks·bits/8)] or flat, float zero
// points [N, k_blocks] or flat. Float data is float32; for DType "float16"
// the model used float16 tensors and every float value (A, scales, float zero
// points, bias, Y) is exactly representable as float16, so converting to
// float16 is lossless.
package ortgolden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// MatMulNBitsFile is the golden file's path relative to the repository root.
const MatMulNBitsFile = "testdata/ort/matmulnbits.json"

// ZeroPointKind says which form of zero_points a case uses.
type ZeroPointKind string

// Zero-point forms of MatMulNBits.
const (
	ZeroPointsNone   ZeroPointKind = "none"   // absent: default 2^(bits-1)
	ZeroPointsPacked ZeroPointKind = "packed" // uint8, packed like B, each row on its own bytes
	ZeroPointsFloat  ZeroPointKind = "float"  // same type as A, one per (row, block)
)

// Compute paths ORT was observed to take (Case.ORTPath).
const (
	PathFP32          = "fp32"            // dequantize B, float32 math
	PathInt8          = "int8"            // accuracy_level 4: A quantized to int8 per row and block, round half to even
	PathFP32ZPIgnored = "fp32_zp_ignored" // g_idx present: packed zero points ignored, default used
)

// File is the whole golden file.
type File struct {
	Note           string `json:"note"`
	ORTVersion     string `json:"ort_version"`
	Generator      string `json:"generator"`
	Seed           int64  `json:"seed"`
	SessionOptions string `json:"session_options"`
	CPU            string `json:"cpu"`
	Cases          []Case `json:"cases"`
}

// Attrs are the MatMulNBits node attributes.
type Attrs struct {
	K             int `json:"K"`
	N             int `json:"N"`
	Bits          int `json:"bits"`
	BlockSize     int `json:"block_size"`
	AccuracyLevel int `json:"accuracy_level"`
}

// Floats is a float tensor (float32 values; see the package doc for float16).
type Floats struct {
	Shape  []int     `json:"shape"`
	Values []float32 `json:"values"`
}

// Bytes is a uint8 tensor.
type Bytes struct {
	Shape []int  `json:"shape"`
	Bytes []byte `json:"bytes"`
}

// Int32s is an int32 tensor.
type Int32s struct {
	Shape  []int   `json:"shape"`
	Values []int32 `json:"values"`
}

// ZeroPoints is the optional zero_points input: Bytes is set for
// ZeroPointsPacked, Values for ZeroPointsFloat, neither for ZeroPointsNone.
type ZeroPoints struct {
	Kind   ZeroPointKind `json:"kind"`
	Shape  []int         `json:"shape,omitempty"`
	Bytes  []byte        `json:"bytes,omitempty"`
	Values []float32     `json:"values,omitempty"`
}

// RefDiff is the distance between ORT's output and one of the generator's
// float64 references, relative to Σ|a·w| per output for MaxRel.
type RefDiff struct {
	MaxAbs float64 `json:"max_abs"`
	MaxRel float64 `json:"max_rel"`
}

// Case is one MatMulNBits model with its inputs and ORT's result.
type Case struct {
	Name            string             `json:"name"`
	Description     string             `json:"description,omitempty"`
	Attrs           Attrs              `json:"attrs"`
	DType           string             `json:"dtype"` // "float32" or "float16"
	WeightsAsInputs bool               `json:"weights_as_inputs"`
	A               Floats             `json:"A"`
	B               Bytes              `json:"B"`
	Scales          Floats             `json:"scales"`
	ZeroPoints      ZeroPoints         `json:"zero_points"`
	GIdx            *Int32s            `json:"g_idx"`
	Bias            *Floats            `json:"bias"`
	ExpectError     bool               `json:"expect_error"`
	Error           string             `json:"error,omitempty"`       // ORT's message when ExpectError
	ErrorStage      string             `json:"error_stage,omitempty"` // "session" or "run"
	Y               *Floats            `json:"Y"`                     // nil when ExpectError
	ORTPath         string             `json:"ort_path,omitempty"`
	RefDiffs        map[string]RefDiff `json:"ref_diffs,omitempty"`
	ORTVersion      string             `json:"ort_version"`
}

// KBlocks returns ceil(K / block_size).
func (c *Case) KBlocks() int {
	if c.Attrs.BlockSize <= 0 {
		return 0
	}
	return (c.Attrs.K + c.Attrs.BlockSize - 1) / c.Attrs.BlockSize
}

// Load reads a golden file and returns its cases; see LoadFile.
func Load(path string) ([]Case, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return f.Cases, nil
}

// LoadFile reads and validates a golden file. Unknown fields are an error, as
// is any tensor whose data length differs from its shape's element count, an
// unknown dtype or zero-point kind, or a case lacking Y (or, for an error
// case, the error message).
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ortgolden: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("ortgolden: %s: %w", path, err)
	}
	for i := range f.Cases {
		if err := f.Cases[i].validate(); err != nil {
			return nil, fmt.Errorf("ortgolden: %s: case %d %q: %w", path, i, f.Cases[i].Name, err)
		}
	}
	return &f, nil
}

// FindRepoFile returns the absolute path of rel (for example
// MatMulNBitsFile) by walking up from the working directory to the directory
// holding go.mod, so tests in any package can locate the goldens.
func FindRepoFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("ortgolden: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, filepath.FromSlash(rel)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("ortgolden: no go.mod above the working directory")
		}
		dir = parent
	}
}

func numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		n *= d
	}
	return n, nil
}

func checkLen(what string, shape []int, got int) error {
	want, err := numel(shape)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if got != want {
		return fmt.Errorf("%s: shape %v needs %d values, got %d", what, shape, want, got)
	}
	return nil
}

func (c *Case) validate() error {
	if c.Name == "" {
		return errors.New("missing name")
	}
	if c.DType != "float32" && c.DType != "float16" {
		return fmt.Errorf("dtype %q, want float32 or float16", c.DType)
	}
	if len(c.A.Shape) == 0 {
		return errors.New("input A: missing shape")
	}
	type lenCheck struct {
		what  string
		shape []int
		n     int
	}
	checks := []lenCheck{
		{"A", c.A.Shape, len(c.A.Values)},
		{"B", c.B.Shape, len(c.B.Bytes)},
		{"scales", c.Scales.Shape, len(c.Scales.Values)},
	}
	if c.GIdx != nil {
		checks = append(checks, lenCheck{"g_idx", c.GIdx.Shape, len(c.GIdx.Values)})
	}
	if c.Bias != nil {
		checks = append(checks, lenCheck{"bias", c.Bias.Shape, len(c.Bias.Values)})
	}
	for _, ch := range checks {
		if err := checkLen(ch.what, ch.shape, ch.n); err != nil {
			return err
		}
	}
	switch c.ZeroPoints.Kind {
	case ZeroPointsNone:
		if c.ZeroPoints.Shape != nil || c.ZeroPoints.Bytes != nil || c.ZeroPoints.Values != nil {
			return errors.New("zero_points: kind none with data")
		}
	case ZeroPointsPacked:
		if c.ZeroPoints.Values != nil {
			return errors.New("zero_points: packed with float values")
		}
		if err := checkLen("zero_points", c.ZeroPoints.Shape, len(c.ZeroPoints.Bytes)); err != nil {
			return err
		}
	case ZeroPointsFloat:
		if c.ZeroPoints.Bytes != nil {
			return errors.New("zero_points: float with bytes")
		}
		if err := checkLen("zero_points", c.ZeroPoints.Shape, len(c.ZeroPoints.Values)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("zero_points: kind %q, want none, packed or float", c.ZeroPoints.Kind)
	}
	if c.ExpectError {
		if c.Error == "" || c.Y != nil {
			return errors.New("error case needs an error message and no Y")
		}
		return nil
	}
	if c.Y == nil {
		return errors.New("missing Y")
	}
	if err := checkLen("Y", c.Y.Shape, len(c.Y.Values)); err != nil {
		return err
	}
	wantY := append(slices.Clone(c.A.Shape[:len(c.A.Shape)-1]), c.Attrs.N)
	if !slices.Equal(c.Y.Shape, wantY) {
		return fmt.Errorf("output Y shape %v, want %v for A %v and N %d", c.Y.Shape, wantY, c.A.Shape, c.Attrs.N)
	}
	switch c.ORTPath {
	case PathFP32, PathInt8, PathFP32ZPIgnored:
	default:
		return fmt.Errorf("ort_path %q", c.ORTPath)
	}
	return nil
}
