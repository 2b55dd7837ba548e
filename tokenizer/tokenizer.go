package tokenizer

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/zerfoo/zerfoo/budget"
)

// TokenType is a vocabulary entry's type (tokenizer.ggml.token_type).
type TokenType int32

// The token types of tokenizer.ggml.token_type.
const (
	Undefined   TokenType = 0
	Normal      TokenType = 1
	Unknown     TokenType = 2
	Control     TokenType = 3
	UserDefined TokenType = 4
	Unused      TokenType = 5
	Byte        TokenType = 6
)

// ErrVocab is wrapped by errors about an unusable vocabulary.
var ErrVocab = errors.New("tokenizer: bad vocabulary")

// ErrToken is wrapped by errors about a token id outside the vocabulary.
var ErrToken = errors.New("tokenizer: token out of range")

// Vocab is a SentencePiece-style vocabulary as GGUF stores it
// (tokenizer.ggml.model = "llama").
type Vocab struct {
	Tokens []string    // piece text, with U+2581 (▁) for spaces
	Scores []float32   // merge priority: higher merges first; nil means all 0
	Types  []TokenType // nil means all Normal
	// Special token ids; -1 when absent.
	BOS, EOS, Unknown, Padding int32
	// AddBOS and AddEOS say whether Encode with addSpecial adds them.
	AddBOS, AddEOS bool
	// AddSpacePrefix prepends a space to text that starts the input or
	// follows a special token (SentencePiece's dummy prefix; false for Gemma).
	AddSpacePrefix bool

	// fimGiven has bit r set when the GGUF metadata gave the id of
	// fill-in-the-middle role r (see retype).
	fimGiven uint8
}

// Tokenizer encodes text to token ids and back, exactly as llama.cpp's
// SentencePiece (SPM) tokenizer does. It is safe for concurrent use.
type Tokenizer struct {
	v        Vocab
	types    []TokenType // as llama.cpp types the tokens after loading (see retype)
	byText   map[string]int32
	match    *matcher // the special pieces (see partition); nil if none
	bytes    [256]int32
	sessions sync.Pool // *session
	// bridges are the pieces across which a run of text may not be cut
	// into words; cut is false when there are too many to check (see
	// words.go).
	bridges []bridge
	cut     bool
	words   wordCache
}

// spaceEsc is SentencePiece's visible space, U+2581.
const spaceEsc = "\u2581"

// New checks v and returns a Tokenizer for it. It returns an error wrapping
// ErrVocab if v has no tokens, a scores or types slice of the wrong length,
// a special token id outside the vocabulary, two tokens with the same text
// (llama.cpp refuses such a file) or a byte that no token encodes (every
// byte needs a <0xNN> byte token or a one-byte piece, so that no text is
// unencodable), and one that also wraps budget.ErrExceeded if the special
// pieces are too long for the memory budget (their matcher takes some 40
// bytes per byte of special text while it is built).
//
// Like llama.cpp, New names an empty piece "[EMPTY_<id>]" and re-types
// control-looking tokens by their text: </s>, typed user-defined in Gemma
// 3, becomes a control token (see Type).
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary: %w", ErrVocab)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens: %w", len(v.Scores), n, ErrVocab)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens: %w", len(v.Types), n, ErrVocab)
	}
	if v.Scores == nil {
		v.Scores = make([]float32, n)
	}
	if v.Types == nil {
		v.Types = make([]TokenType, n)
		for i := range v.Types {
			v.Types[i] = Normal
		}
	}
	for _, id := range []int32{v.BOS, v.EOS, v.Unknown, v.Padding} {
		if id < -1 || id >= int32(n) {
			return nil, fmt.Errorf("tokenizer: special token id %d outside the %d-token vocabulary: %w", id, n, ErrVocab)
		}
	}
	if slices.Contains(v.Tokens, "") {
		v.Tokens = slices.Clone(v.Tokens) // empty pieces are renamed below, not in the caller's slice
	}
	t := &Tokenizer{v: v, byText: make(map[string]int32, n)}
	for i, s := range t.v.Tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i)
			t.v.Tokens[i] = s
		}
		if j, dup := t.byText[s]; dup {
			return nil, fmt.Errorf("tokenizer: tokens %d and %d are both %q: %w", j, i, s, ErrVocab)
		}
		t.byText[s] = int32(i)
	}
	t.types = retype(v.Types, t.byText, v.fimGiven)
	var err error
	if t.match, err = t.newMatcher(); err != nil {
		return nil, err
	}
	for b := 0; b < 256; b++ {
		id, ok := t.byText[fmt.Sprintf("<0x%02X>", b)]
		if !ok {
			id, ok = t.byText[string([]byte{byte(b)})]
		}
		if !ok {
			return nil, fmt.Errorf("tokenizer: no token for byte 0x%02X (no byte fallback): %w", b, ErrVocab)
		}
		t.bytes[b] = id
	}
	t.bridges, t.cut = findBridges(t.v.Tokens)
	t.words.seed = maphash.MakeSeed()
	return t, nil
}

// newMatcher returns the matcher of t's special pieces (control,
// user-defined and unknown tokens, longest first, ties by id), or nil if
// there are none. Its size, some 40 bytes per byte of special text while
// it is built, is checked against the memory budget first.
func (t *Tokenizer) newMatcher() (*matcher, error) {
	var ids []int32
	size := int64(1)
	for i, typ := range t.types {
		switch typ {
		case Control, UserDefined, Unknown:
			ids = append(ids, int32(i))
			size += int64(len(t.v.Tokens[i]))
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := budget.Check(fmt.Sprintf("tokenizer: automaton of %d special pieces (%d bytes)", len(ids), size-1), size*matcherBuildBytes); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrVocab)
	}
	sort.SliceStable(ids, func(a, b int) bool { return len(t.v.Tokens[ids[a]]) > len(t.v.Tokens[ids[b]]) })
	onlyParsed := make([]bool, len(ids))
	for r, id := range ids {
		onlyParsed[r] = t.types[id] != UserDefined
	}
	return newMatcher(t.v.Tokens, ids, onlyParsed), nil
}

// Vocab returns the tokenizer's vocabulary (shared; do not modify).
func (t *Tokenizer) Vocab() *Vocab { return &t.v }

// Len returns the number of tokens in the vocabulary.
func (t *Tokenizer) Len() int { return len(t.v.Tokens) }

// Piece returns the vocabulary text of token id (with ▁ for spaces).
func (t *Tokenizer) Piece(id int32) (string, error) {
	if id < 0 || int(id) >= len(t.v.Tokens) {
		return "", fmt.Errorf("tokenizer: token %d of %d: %w", id, len(t.v.Tokens), ErrToken)
	}
	return t.v.Tokens[id], nil
}

// Type returns the type of token id as llama.cpp has it after loading
// (Undefined if out of range): the vocabulary's type, except for tokens
// llama.cpp re-types by their text, such as Gemma 3's </s>, typed
// UserDefined in the file and Control here (see New); a type value
// outside the known ones is Undefined.
func (t *Tokenizer) Type(id int32) TokenType {
	if id < 0 || int(id) >= len(t.types) {
		return Undefined
	}
	return t.types[id]
}

// fragment is a run of raw text or an already matched special token.
type fragment struct {
	text  string
	token int32 // -1 for raw text
}

// Encode tokenizes text like llama.cpp's llama_tokenize(text, addSpecial,
// parseSpecial): user-defined tokens are cut out of the text first (and
// control and unknown tokens too when parseSpecial is set; types as Type
// reports them), longest piece first, each piece's occurrences left to
// right in what the longer ones left, in time linear in the text whatever
// the number of special pieces; then each
// remaining run of text has its spaces replaced by ▁ and is split into
// UTF-8 characters that are merged pairwise, highest piece score first
// (ties: leftmost), as long as the merged text is a vocabulary piece.
// (The runs are merged word by word where no piece can join two words,
// which gives the same ids; words seen before come from a cache. See
// words.go.)
// Characters left outside the vocabulary become byte tokens <0xNN>. With
// addSpecial, BOS and EOS are added as the vocabulary says.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	frags := t.partition(text, parseSpecial)
	var out []int32
	prevSpecial := true
	if addSpecial && t.v.AddBOS && t.v.BOS >= 0 {
		out = append(out, t.v.BOS)
	}
	s, _ := t.sessions.Get().(*session)
	if s == nil {
		s = new(session)
	}
	defer t.release(s)
	for _, f := range frags {
		if f.token >= 0 {
			out = append(out, f.token)
			prevSpecial = true
			continue
		}
		raw := f.text
		if t.v.AddSpacePrefix && prevSpecial {
			raw = " " + raw
		}
		out = t.encodeText(s, strings.ReplaceAll(raw, " ", spaceEsc), out)
		prevSpecial = false
	}
	if addSpecial && t.v.AddEOS && t.v.EOS >= 0 {
		out = append(out, t.v.EOS)
	}
	return out
}

// symbol is a run of bytes in the merge list, with the vocabulary id of
// its text once a merge made it (noPiece for a character not yet looked
// up).
type symbol struct {
	start, n   int
	prev, next int
	id         int32
}

// bigram is a candidate merge of two adjacent symbols into piece id.
type bigram struct {
	left, right int
	score       float32
	size        int
	id          int32
}

// before orders the merge queue: higher score first, then leftmost.
func (a *bigram) before(b *bigram) bool {
	return a.score > b.score || a.score == b.score && a.left < b.left
}

// session holds the scratch state of one merge run. Sessions are reused
// through the Tokenizer's pool.
type session struct {
	text    string
	symbols []symbol
	queue   []bigram // a binary heap under bigram.before
}

// release returns s to the pool, without its text and without buffers
// grown past a long prompt's size.
func (t *Tokenizer) release(s *session) {
	s.text = ""
	if cap(s.symbols) > 1<<16 {
		s.symbols, s.queue = nil, nil
	}
	t.sessions.Put(s)
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length announced by
// a lead byte (continuation and invalid bytes count as 1).
func utf8Len(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

// noPiece is lookup's id for a text that is no vocabulary piece.
const noPiece = -1

// merge appends the ids of text (spaces already ▁) merged as Encode
// describes.
func (s *session) merge(t *Tokenizer, text string, out []int32) []int32 {
	s.text, s.symbols, s.queue = text, s.symbols[:0], s.queue[:0]
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		i := len(s.symbols)
		next := i + 1
		if off+n == len(text) {
			next = -1
		}
		s.symbols = append(s.symbols, symbol{start: off, n: n, prev: i - 1, next: next, id: noPiece})
		off += n
	}
	for i := 1; i < len(s.symbols); i++ {
		s.tryAdd(t, i-1, i)
	}
	for len(s.queue) > 0 {
		bg := s.pop()
		l, r := &s.symbols[bg.left], &s.symbols[bg.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue
		}
		l.n += r.n
		l.id = bg.id
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.symbols[r.next].prev = bg.left
		}
		s.tryAdd(t, l.prev, bg.left)
		s.tryAdd(t, bg.left, l.next)
	}
	for i := 0; i != -1 && len(s.symbols) > 0; i = s.symbols[i].next {
		sym := s.symbols[i]
		if sym.id == noPiece { // a character no merge reached
			sym.id = t.lookup(text[sym.start : sym.start+sym.n])
		}
		if sym.id != noPiece {
			out = append(out, sym.id)
			continue
		}
		// Every merge produced a vocabulary piece, so only unmerged
		// characters can be missing: they fall back to bytes.
		for j := sym.start; j < sym.start+sym.n; j++ {
			out = append(out, t.bytes[text[j]])
		}
	}
	return out
}

// tryAdd queues the merge of symbols left and right if their joined text
// is a vocabulary piece.
func (s *session) tryAdd(t *Tokenizer, left, right int) {
	if left < 0 || right < 0 {
		return
	}
	l, r := &s.symbols[left], &s.symbols[right]
	id := t.lookup(s.text[l.start : l.start+l.n+r.n])
	if id == noPiece {
		return
	}
	s.push(bigram{left: left, right: right, score: t.v.Scores[id], size: l.n + r.n, id: id})
}

// lookup returns the id of piece, or noPiece.
func (t *Tokenizer) lookup(piece string) int32 {
	if id, ok := t.byText[piece]; ok {
		return id
	}
	return noPiece
}

// push adds b to the merge queue.
func (s *session) push(b bigram) {
	q := append(s.queue, b)
	for j := len(q) - 1; j > 0; {
		i := (j - 1) / 2
		if !q[j].before(&q[i]) {
			break
		}
		q[i], q[j] = q[j], q[i]
		j = i
	}
	s.queue = q
}

// pop removes and returns the first bigram of the merge queue.
func (s *session) pop() bigram {
	q := s.queue
	n := len(q) - 1
	q[0], q[n] = q[n], q[0]
	for i := 0; ; {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && q[j2].before(&q[j]) {
			j = j2
		}
		if !q[j].before(&q[i]) {
			break
		}
		q[i], q[j] = q[j], q[i]
		i = j
	}
	b := q[n]
	s.queue = q[:n]
	return b
}

// Decode returns the text of ids, as llama.cpp's detokenizer renders it:
// ▁ becomes a space in normal pieces, byte tokens become their byte,
// user-defined pieces appear verbatim, and control and unknown tokens
// appear as their text only with renderSpecial. Unused and undefined
// tokens render as nothing.
func (t *Tokenizer) Decode(ids []int32, renderSpecial bool) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.v.Tokens) {
			return "", fmt.Errorf("tokenizer: decode: token %d of %d: %w", id, len(t.v.Tokens), ErrToken)
		}
		t.writePiece(&b, id, renderSpecial)
	}
	s := b.String()
	if t.v.AddSpacePrefix && len(ids) > 0 && strings.HasPrefix(s, " ") && t.types[ids[0]] == Normal {
		s = s[1:]
	}
	return s, nil
}

// DecodeMore returns the text of ids that continue a text already begun:
// Decode's rules, but no space prefix is dropped, so that Decode(a) +
// DecodeMore(b) == Decode(a + b) for a non-empty a. It lets a generation
// decode each new token once instead of its whole output again.
func (t *Tokenizer) DecodeMore(ids []int32, renderSpecial bool) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.v.Tokens) {
			return "", fmt.Errorf("tokenizer: decode: token %d of %d: %w", id, len(t.v.Tokens), ErrToken)
		}
		t.writePiece(&b, id, renderSpecial)
	}
	return b.String(), nil
}

// writePiece writes the text of token id (in range) to b, by Decode's
// rules for one token.
func (t *Tokenizer) writePiece(b *strings.Builder, id int32, renderSpecial bool) {
	piece := t.v.Tokens[id]
	switch t.types[id] {
	case Normal:
		b.WriteString(strings.ReplaceAll(piece, spaceEsc, " "))
	case UserDefined:
		b.WriteString(piece)
	case Control, Unknown:
		if renderSpecial {
			b.WriteString(piece)
		}
	case Byte:
		if v, ok := parseByte(piece); ok {
			b.WriteByte(v)
		}
	}
}

// TokenBytes returns the bytes each token adds to decoded text, indexed by
// id, by Decode's rules without special tokens (control, unknown and
// unused tokens add nothing) and without the leading-space rule of a
// text's first token.
func (t *Tokenizer) TokenBytes() [][]byte {
	out := make([][]byte, len(t.v.Tokens))
	var b strings.Builder
	for id := range out {
		b.Reset()
		t.writePiece(&b, int32(id), false)
		if b.Len() > 0 {
			out[id] = []byte(b.String())
		}
	}
	return out
}

// parseByte returns the byte of a "<0xNN>" piece.
func parseByte(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range p[3:5] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | byte(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | byte(c-'A'+10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | byte(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
