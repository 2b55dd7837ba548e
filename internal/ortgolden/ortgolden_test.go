package ortgolden

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func loadCommitted(t *testing.T) *File {
	t.Helper()
	path, err := FindRepoFile(MatMulNBitsFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func findCase(t *testing.T, f *File, name string) *Case {
	t.Helper()
	for i := range f.Cases {
		if f.Cases[i].Name == name {
			return &f.Cases[i]
		}
	}
	t.Fatalf("case %q not found", name)
	return nil
}

// TestCommittedCoverage checks that the committed goldens cover what issue 4
// asks for: bits, block sizes, ragged K, zero-point forms, g_idx, bias, ranks,
// M = 1, accuracy levels, float16 and error cases.
func TestCommittedCoverage(t *testing.T) {
	f := loadCommitted(t)
	if f.ORTVersion != "1.30.0" {
		t.Errorf("ort_version = %q, want 1.30.0", f.ORTVersion)
	}
	var ok, bad int
	seen := map[string]bool{}
	has := map[string]bool{}
	for i := range f.Cases {
		c := &f.Cases[i]
		if seen[c.Name] {
			t.Errorf("duplicate case name %q", c.Name)
		}
		seen[c.Name] = true
		if c.ORTVersion != "1.30.0" {
			t.Errorf("%s: ort_version = %q, want 1.30.0", c.Name, c.ORTVersion)
		}
		if c.ExpectError {
			bad++
			continue
		}
		ok++
		a := c.Attrs
		m := len(c.A.Values) / a.K
		mark := func(key string, cond bool) {
			if cond {
				has[key] = true
			}
		}
		for _, b := range []int{2, 4, 8} {
			mark("bits "+strconv.Itoa(b), a.Bits == b)
		}
		for _, bs := range []int{16, 32, 64, 128, 256} {
			mark("block_size "+strconv.Itoa(bs), a.BlockSize == bs)
		}
		for r := 1; r <= 4; r++ {
			mark("rank "+strconv.Itoa(r), len(c.A.Shape) == r)
		}
		mark("ragged K", a.K%a.BlockSize != 0)
		mark("K < block_size", a.K < a.BlockSize)
		mark("odd k_blocks packed zp", c.ZeroPoints.Kind == ZeroPointsPacked && a.Bits == 4 && c.KBlocks()%2 == 1)
		mark("zp none", c.ZeroPoints.Kind == ZeroPointsNone)
		mark("zp packed", c.ZeroPoints.Kind == ZeroPointsPacked)
		mark("zp float", c.ZeroPoints.Kind == ZeroPointsFloat)
		mark("g_idx", c.GIdx != nil)
		mark("g_idx with packed zp", c.GIdx != nil && c.ZeroPoints.Kind == ZeroPointsPacked)
		mark("bias", c.Bias != nil)
		mark("M = 1", m == 1)
		mark("M > 1", m > 1)
		mark("level 0", a.AccuracyLevel == 0)
		mark("level 4", a.AccuracyLevel == 4)
		mark("int8 path", c.ORTPath == PathInt8)
		mark("1-D scales", len(c.Scales.Shape) == 1)
		mark("float16", c.DType == "float16")
		mark("weights as inputs", c.WeightsAsInputs)
		mark("N = 1", a.N == 1)
		mark("N > 32", a.N > 32)
	}
	if ok < 40 {
		t.Errorf("got %d accepted cases, want ≥ 40", ok)
	}
	if bad < 5 {
		t.Errorf("got %d error cases, want ≥ 5", bad)
	}
	for _, key := range []string{
		"bits 2", "bits 4", "bits 8",
		"block_size 16", "block_size 32", "block_size 64", "block_size 128", "block_size 256",
		"rank 1", "rank 2", "rank 3", "rank 4",
		"ragged K", "K < block_size", "odd k_blocks packed zp",
		"zp none", "zp packed", "zp float", "g_idx", "g_idx with packed zp", "bias",
		"M = 1", "M > 1", "level 0", "level 4", "int8 path", "1-D scales", "float16",
		"weights as inputs", "N = 1", "N > 32",
	} {
		if !has[key] {
			t.Errorf("no accepted case with %s", key)
		}
	}
}

// TestHandExample checks the decoded fields of the matmul-nbits.md §9 cases
// against the values written by hand in that spec.
func TestHandExample(t *testing.T) {
	f := loadCommitted(t)
	wantA := []float32{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4}
	wantB := []byte{0x98, 0x7f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x3c, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88}
	tests := []struct {
		name  string
		level int
		zp    ZeroPointKind
		path  string
		y     float64
		tol   float64
	}{
		{"hand_example_level0", 0, ZeroPointsNone, PathFP32, 6.5, 0},
		{"hand_example_level4", 4, ZeroPointsNone, PathInt8, 6.49606, 1e-4},
		{"hand_example_packed_zp", 0, ZeroPointsPacked, PathFP32, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := findCase(t, f, tt.name)
			if want := (Attrs{K: 18, N: 1, Bits: 4, BlockSize: 16, AccuracyLevel: tt.level}); c.Attrs != want {
				t.Errorf("attrs = %+v, want %+v", c.Attrs, want)
			}
			if c.KBlocks() != 2 {
				t.Errorf("KBlocks() = %d, want 2", c.KBlocks())
			}
			if !slices.Equal(c.A.Shape, []int{1, 18}) || !slices.Equal(c.A.Values, wantA) {
				t.Errorf("A = %v %v, want [1 18] %v", c.A.Shape, c.A.Values, wantA)
			}
			if !slices.Equal(c.B.Shape, []int{1, 2, 8}) || !slices.Equal(c.B.Bytes, wantB) {
				t.Errorf("B = %v % x, want [1 2 8] % x", c.B.Shape, c.B.Bytes, wantB)
			}
			if !slices.Equal(c.Scales.Values, []float32{0.5, 0.25}) {
				t.Errorf("scales = %v, want [0.5 0.25]", c.Scales.Values)
			}
			if c.ZeroPoints.Kind != tt.zp {
				t.Errorf("zero_points kind = %q, want %q", c.ZeroPoints.Kind, tt.zp)
			}
			if tt.zp == ZeroPointsPacked && !slices.Equal(c.ZeroPoints.Bytes, []byte{0x79}) {
				t.Errorf("zero_points = % x, want 79", c.ZeroPoints.Bytes)
			}
			if c.ORTPath != tt.path {
				t.Errorf("ort_path = %q, want %q", c.ORTPath, tt.path)
			}
			if !slices.Equal(c.Y.Shape, []int{1, 1}) || math.Abs(float64(c.Y.Values[0])-tt.y) > tt.tol {
				t.Errorf("Y = %v %v, want [1 1] [%v ± %v]", c.Y.Shape, c.Y.Values, tt.y, tt.tol)
			}
		})
	}
}

// TestErrorCases checks that rejected cases carry ORT's message.
func TestErrorCases(t *testing.T) {
	f := loadCommitted(t)
	tests := []struct{ name, stage, substr string }{
		{"err_bits3", "session", "Only 2b, 4b and 8b"},
		{"err_block_size8", "session", "got: 8"},
		{"err_B_too_few_blocks", "session", "B initializer shape {2,2,8}"},
		{"err_A_last_dim_dynamic", "run", "MatMulNBits"},
		{"err_float_zp_bits8", "run", "Only 2b and 4b"},
	}
	for _, tt := range tests {
		c := findCase(t, f, tt.name)
		if !c.ExpectError || c.ErrorStage != tt.stage || !strings.Contains(c.Error, tt.substr) {
			t.Errorf("%s: expect_error=%v stage=%q error=%q, want true, %q, containing %q", tt.name, c.ExpectError, c.ErrorStage, c.Error, tt.stage, tt.substr)
		}
	}
}

// TestLoadRejects checks validation of malformed files.
func TestLoadRejects(t *testing.T) {
	const good = `{"name":"x","attrs":{"K":2,"N":1,"bits":4,"block_size":16,"accuracy_level":0},"dtype":"float32","weights_as_inputs":false,` +
		`"A":{"shape":[1,2],"values":[1,2]},"B":{"shape":[1,1,8],"bytes":"AAAAAAAAAAA="},"scales":{"shape":[1,1],"values":[0.5]},` +
		`"zero_points":{"kind":"none"},"g_idx":null,"bias":null,"expect_error":false,"Y":{"shape":[1,1],"values":[-12]},"ort_path":"fp32","ort_version":"1.30.0"}`
	tests := []struct {
		name, old, new, want string
	}{
		{"valid", "", "", ""},
		{"unknown field", `"dtype"`, `"extra":1,"dtype"`, "unknown field"},
		{"A length", `"values":[1,2]`, `"values":[1]`, "A: shape [1 2] needs 2 values, got 1"},
		{"B length", `"AAAAAAAAAAA="`, `"AAAA"`, "B: shape [1 1 8] needs 8 values, got 3"},
		{"bad dtype", `"float32"`, `"bfloat16"`, "dtype"},
		{"bad zp kind", `"kind":"none"`, `"kind":"int4"`, "kind"},
		{"zp none with data", `"kind":"none"`, `"kind":"none","shape":[1]`, "kind none with data"},
		{"missing Y", `"Y":{"shape":[1,1],"values":[-12]}`, `"Y":null`, "missing Y"},
		{"Y length", `"Y":{"shape":[1,1]`, `"Y":{"shape":[2]`, "Y: shape [2] needs 2 values, got 1"},
		{"Y dims", `"Y":{"shape":[1,1],"values":[-12]}`, `"Y":{"shape":[1,2],"values":[-12,1]}`, "Y shape [1 2], want [1 1]"},
		{"bad path", `"ort_path":"fp32"`, `"ort_path":"gpu"`, "ort_path"},
		{"error without message", `"expect_error":false`, `"expect_error":true`, "error case needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			if tt.old != "" {
				if !strings.Contains(c, tt.old) {
					t.Fatalf("test setup: %q not in document", tt.old)
				}
				c = strings.Replace(c, tt.old, tt.new, 1)
			}
			path := filepath.Join(t.TempDir(), "g.json")
			if err := os.WriteFile(path, []byte(`{"note":"","ort_version":"1.30.0","cases":[`+c+`]}`), 0o644); err != nil {
				t.Fatal(err)
			}
			cases, err := Load(path)
			if tt.want == "" {
				if err != nil || len(cases) != 1 || cases[0].Y.Values[0] != -12 {
					t.Fatalf("Load = %v, %v; want one case with Y [-12]", cases, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "ortgolden: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file: got nil error")
	}
}
