package tokenizer

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
)

// Words: Encode's merges run over a whole run of text between special
// pieces, ranked across the run, which costs a priority-queue operation
// and a lookup in the vocabulary map (262,144 pieces for Gemma 3, so
// nearly every lookup misses the CPU caches) per merge. A run cut where no
// merge can cross gives the same ids as the whole run, word by word, and
// words recur: Encode cuts runs into words and remembers each short word's
// ids.
//
// Where a cut is safe: a merge joins two adjacent symbols into a piece of
// the vocabulary, so a symbol only ever spans a point of the text if some
// vocabulary piece occurs there across it. Encode cuts before each ▁ (a
// space) that follows a character other than ▁, unless a bridge — a piece
// with some character other than ▁ followed by ▁ — occurs across that
// point. Gemma 3's vocabulary has one bridge (">▁</"); pieces such as
// "▁▁▁" join spaces only, and every other piece with a ▁ starts with it.
// Merges on either side of a safe cut never meet, and the queue orders
// each side's merges as it would alone (by score, then position), so the
// ids are the same as the uncut run's.

// maxBridges bounds the bridges checked at each cut: a vocabulary with
// more encodes runs whole.
const maxBridges = 64

// bridge is a piece that joins a character other than ▁ to a following ▁,
// at byte offset at of the piece (one bridge per such ▁).
type bridge struct {
	piece string
	at    int
}

// findBridges returns the bridges of tokens, and false when there are more
// than maxBridges.
func findBridges(tokens []string) ([]bridge, bool) {
	var bs []bridge
	for _, p := range tokens {
		for at := 1; at < len(p); {
			i := strings.Index(p[at:], spaceEsc)
			if i < 0 {
				break
			}
			at += i
			if !strings.HasSuffix(p[:at], spaceEsc) {
				if len(bs) == maxBridges {
					return nil, false
				}
				bs = append(bs, bridge{p, at})
			}
			at += len(spaceEsc)
		}
	}
	return bs, true
}

// canCut reports whether text may be cut at byte off (where a ▁ starts,
// after a character other than ▁): no bridge occurs across off.
func (t *Tokenizer) canCut(text string, off int) bool {
	for _, b := range t.bridges {
		lo := off - b.at
		if lo >= 0 && lo+len(b.piece) <= len(text) && text[lo:lo+len(b.piece)] == b.piece {
			return false
		}
	}
	return true
}

// encodeText appends the ids of a run of text (spaces already ▁), word by
// word where the vocabulary allows (see above).
func (t *Tokenizer) encodeText(s *session, text string, out []int32) []int32 {
	if !t.cut {
		return s.merge(t, text, out)
	}
	start, prevSpace := 0, false
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		space := n == len(spaceEsc) && text[off:off+n] == spaceEsc
		if space && !prevSpace && off > start && t.canCut(text, off) {
			out = t.encodeWord(s, text[start:off], out)
			start = off
		}
		prevSpace = space
		off += n
	}
	return t.encodeWord(s, text[start:], out)
}

// maxWord is the longest word (bytes) the word cache keeps.
const maxWord = 64

// encodeWord appends the ids of word, from the word cache when it has it.
func (t *Tokenizer) encodeWord(s *session, word string, out []int32) []int32 {
	if len(word) > maxWord {
		return s.merge(t, word, out)
	}
	slot := &t.words.slots[maphash.String(t.words.seed, word)&(wordSlots-1)]
	if e := slot.Load(); e != nil && e.word == word {
		return append(out, e.ids...)
	}
	n := len(out)
	out = s.merge(t, word, out)
	slot.Store(&wordEntry{word: strings.Clone(word), ids: slices.Clone(out[n:])})
	return out
}

// wordSlots is the number of words the cache holds at most.
const wordSlots = 1 << 14

// wordCache maps words to their ids, direct-mapped by a hash of the word
// (a word evicts whatever shared its slot) and safe for concurrent use:
// each slot holds an immutable entry, replaced whole.
type wordCache struct {
	seed  maphash.Seed
	slots [wordSlots]atomic.Pointer[wordEntry]
}

type wordEntry struct {
	word string
	ids  []int32
}
