package gguf

import (
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	_, data := sample(t)
	f, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Inspect(&sb, f); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	// 128 Q4_0 + 3 F32 + 256 Q4_K elements; 72 + 12 + 144 bytes.
	for _, want := range []string{
		"GGUF v3, 19 metadata entries, 3 tensors, alignment 32",
		`general.architecture  string   "gemma3"`,
		`[3]string{"a", "", "<0x0A>"}`,
		"[3]array{[2]uint8{1, 2}, [1]string{\"x\"}, [1]array{[1]int64{-7}}}",
		"w.q4_0  Q4_0  [64 2]",
		"Total: 387 parameters, 228 bytes",
		"4.713 bits per weight",
		"  Q4_K            1       256    144  63.2 %        4.500",
		"  Q4_0            1       128     72  31.6 %        4.500",
		"  F32             1         3     12   5.3 %       32.000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
