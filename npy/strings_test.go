package npy

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/zerfoo/zerfoo/tensor"
)

// Files written by NumPy 1.24 (np.save, allow_pickle=True) for an object
// array [["héllo", "a"], ["", "xyz"]], a str array ["héllo", "a", "", "xyz"]
// ('<U5') and a bytes array [b"ab", b"c"] ('|S2').
const (
	objectNpy = "934e554d5059010076007b276465736372273a20277c4f272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2032292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a8003636e756d70792e636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e6461727261790a71014b008571024301627103877104527105284b014b024b02867106636e756d70790a64747970650a710758020000004f387108898887710952710a284b0358010000007c710b4e4e4e4affffffff4affffffff4b3f74710c62895d710d28580600000068c3a96c6c6f710e580100000061710f58000000007110580300000078797a711165747112622e"
	strNpy    = "934e554d5059010076007b276465736372273a20273c5535272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028342c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a68000000e90000006c0000006c0000006f0000006100000000000000000000000000000000000000000000000000000000000000000000000000000078000000790000007a0000000000000000000000"
	bytesNpy  = "934e554d5059010076007b276465736372273a20277c5332272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a61626300"
)

func TestReadNumPyStrings(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		shape      []int
		want       []string
	}{
		{"object", objectNpy, []int{2, 2}, []string{"héllo", "a", "", "xyz"}},
		{"str", strNpy, []int{4}, []string{"héllo", "a", "", "xyz"}},
		{"bytes", bytesNpy, []int{2}, []string{"ab", "c"}},
	} {
		b, _ := hex.DecodeString(tt.file)
		a, err := Read(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		s, ok := a.Tensor.(*tensor.Strings)
		if !ok || !reflect.DeepEqual(s.Shape(), tt.shape) || !reflect.DeepEqual(s.Data(), tt.want) {
			t.Errorf("%s: got %v, want %v %q", tt.name, a.Tensor, tt.shape, tt.want)
		}
		// Every truncation is an error, never a panic.
		for cut := 1; cut < len(b); cut++ {
			if _, err := Read(bytes.NewReader(b[:cut])); !errors.Is(err, ErrFormat) {
				t.Fatalf("%s cut at %d: got %v, want ErrFormat", tt.name, cut, err)
			}
		}
	}
	// A pickle that calls anything else is refused.
	b, _ := hex.DecodeString(objectNpy)
	evil := bytes.Replace(b, []byte("_reconstruct"), []byte("_reconstrucX"), 1)
	if _, err := Read(bytes.NewReader(evil)); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown global: got %v, want ErrFormat", err)
	}
}

func TestWriteStrings(t *testing.T) {
	s, err := tensor.NewStrings([]int{4}, []string{"héllo", "a", "", "xyz"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, s, false); err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString(strNpy)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got %x,\nwant NumPy's %x", buf.Bytes(), want)
	}
}
