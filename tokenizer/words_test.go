package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// bridgeVocab is the test vocabulary with pieces that join a character to
// a following ▁ (bridges, scored to merge first) and runs of ▁, so that
// some cuts before a ▁ are unsafe.
func bridgeVocab() Vocab {
	v := testVocab(700)
	for _, p := range []string{"e▁", "e▁t", ">▁</", "o▁w", "▁▁", "▁▁▁", "d.▁", "x▁▁y"} {
		if !slices.Contains(v.Tokens, p) {
			v.Tokens = append(v.Tokens, p)
			v.Scores = append(v.Scores, 10)
			v.Types = append(v.Types, Normal)
		}
	}
	return v
}

// wholeAndCut returns two tokenizers of v: one that encodes each run of
// text whole (the reference) and one that cuts runs into words.
func wholeAndCut(t testing.TB, v Vocab) (whole, cut *Tokenizer) {
	t.Helper()
	whole, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	whole.cut = false
	cut, err = New(v)
	if err != nil {
		t.Fatal(err)
	}
	if !cut.cut {
		t.Fatalf("%d bridges: the tokenizer does not cut runs into words", len(cut.bridges))
	}
	return whole, cut
}

func TestFindBridges(t *testing.T) {
	bs, ok := findBridges([]string{"▁the", "▁▁", "a▁", "▁a▁b▁", ">▁</", "x▁▁y", "plain"})
	want := []bridge{{"a▁", 1}, {"▁a▁b▁", 4}, {"▁a▁b▁", 8}, {">▁</", 1}, {"x▁▁y", 1}}
	if !ok || !slices.Equal(bs, want) {
		t.Errorf("findBridges: got %v, %v; want %v", bs, ok, want)
	}
	many := make([]string, maxBridges+1)
	for i := range many {
		many[i] = strings.Repeat("a", i+1) + "▁"
	}
	if _, ok := findBridges(many); ok {
		t.Errorf("findBridges of %d bridges: got ok", len(many))
	}
}

// TestEncodeWords checks that encoding word by word, with the word cache
// cold and warm, gives the ids of encoding each run whole, with and
// without bridges in the vocabulary.
func TestEncodeWords(t *testing.T) {
	texts := strings.Split(corpus, "\n")
	texts = append(texts, "the▁ tree", "one two  three   four", "<a> </a> > </b", "x  y x y", "end. Next", "  lead", "trail  ", "\xf0 \xe2 x", strings.Repeat("word ", 40)+strings.Repeat("x", 200))
	for _, v := range []Vocab{testVocab(700), bridgeVocab()} {
		whole, cut := wholeAndCut(t, v)
		for pass := 0; pass < 2; pass++ {
			for _, s := range texts {
				for _, special := range []bool{false, true} {
					want := whole.Encode(s, true, special)
					if got := cut.Encode(s, true, special); !slices.Equal(got, want) {
						t.Fatalf("%d bridges, pass %d: Encode(%q) = %v, want %v", len(cut.bridges), pass, s, got, want)
					}
				}
			}
		}
	}
}

// TestEncodeWordsConcurrent encodes from several goroutines at once (the
// word cache is shared; run with -race).
func TestEncodeWordsConcurrent(t *testing.T) {
	whole, cut := wholeAndCut(t, bridgeVocab())
	lines := strings.Split(corpus, "\n")
	want := make([][]int32, len(lines))
	for i, s := range lines {
		want[i] = whole.Encode(s, false, true)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for rep := 0; rep < 20; rep++ {
				for i := range lines {
					j := (i + g*7 + rep) % len(lines)
					if got := cut.Encode(lines[j], false, true); !slices.Equal(got, want[j]) {
						t.Errorf("Encode(%q) = %v, want %v", lines[j], got, want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// FuzzEncodeWords compares encoding word by word against encoding runs
// whole on any text, with a vocabulary that has bridges.
func FuzzEncodeWords(f *testing.F) {
	for _, s := range []string{"", "Hello world", "the tree", "e  t", "<a> </a>", "x  y", "d. x", "\xf0 a", "  ", "a\u2581b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	whole, cut := wholeAndCut(f, bridgeVocab())
	f.Fuzz(func(t *testing.T, s string, special bool) {
		want := whole.Encode(s, false, special)
		if got := cut.Encode(s, false, special); !slices.Equal(got, want) {
			t.Fatalf("Encode(%q, %v) = %v, want %v", s, special, got, want)
		}
		if got := cut.Encode(s, false, special); !slices.Equal(got, want) {
			t.Fatalf("second Encode(%q, %v) = %v, want %v", s, special, got, want)
		}
	})
}
