package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// HF is a Hugging Face tokenizer (tokenizer.json with tokenizer_config.json)
// converted to the vocabulary a GGUF file holds, as ParseHF describes.
type HF struct {
	Vocab Vocab
	// ChatTemplate is tokenizer_config.json's chat_template (the one named
	// "default" when it is a list); "" when there is none. Gemma 3's
	// template is the one GemmaChat renders.
	ChatTemplate string
}

// Metadata returns the tokenizer.ggml.* entries of h.Vocab (see
// Vocab.Metadata) followed by tokenizer.chat_template when h has one.
func (h *HF) Metadata() []KV {
	md := h.Vocab.Metadata()
	if h.ChatTemplate != "" {
		md = append(md, KV{KeyChatTemplate, h.ChatTemplate})
	}
	return md
}

// FromHF builds a Tokenizer from the contents of a Hugging Face
// tokenizer.json and tokenizer_config.json (nil when the folder has none):
// New of ParseHF's vocabulary. Encode then gives the ids the GGUF path
// gives for the same model.
func FromHF(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	h, err := ParseHF(tokenizerJSON, configJSON)
	if err != nil {
		return nil, err
	}
	return New(h.Vocab)
}

// ParseHF converts a Hugging Face tokenizer to the vocabulary that
// llama.cpp's convert_hf_to_gguf.py writes for Gemma 3 (its
// _create_vocab_sentencepiece), so that ids are those of the GGUF path:
//
//   - The model must be "BPE" with byte_fallback, the form transformers
//     gives a SentencePiece BPE model (Gemma, Llama 2). WordPiece, Unigram,
//     WordLevel and byte-level (GPT-2 style) BPE are refused with an error
//     naming the model type or component.
//   - Token i is model.vocab's piece with id i. <0xNN> pieces are byte
//     tokens, model.unk_token is the unknown token, the rest are normal.
//   - Each added token (tokenizer.json's added_tokens, then
//     tokenizer_config.json's added_tokens_decoder, which wins) replaces
//     its id's piece: a control token when it is special or looks special
//     to the converter (<pad>, <mask>, <unusedN>, <|…|>, …), otherwise a
//     user-defined token whose ▁ are turned back into spaces; its score is
//     −1000. Ids that neither names become unused "[PADi]" tokens.
//   - tokenizer.json keeps no scores. A SentencePiece model's merge order
//     is its score order (transformers writes the merges sorted by the
//     score of the merged piece), so a piece scores −r, r being the rank
//     of the first merge that forms it, and pieces no merge forms score
//     −len(merges). llama.cpp's merge loop, which compares only the order
//     of scores, therefore merges exactly as with the original scores
//     wherever those are distinct; for equal scores it takes the leftmost
//     pair where the ranks prefer the longer left half. For a BPE
//     vocabulary that was not converted from SentencePiece (whose merges
//     are not every split of every piece), llama.cpp's rule can differ
//     from Hugging Face's.
//   - BOS, EOS, unknown and padding are tokenizer_config.json's
//     bos_token, eos_token, unk_token and pad_token, looked up among the
//     added tokens as the converter does; one it does not name keeps
//     llama.cpp's default (BOS 1, EOS 2, unknown 0, no padding), except
//     that BOS defaults to the post-processor's leading special token.
//     AddBOS and AddEOS follow the post-processor's TemplateProcessing,
//     overridden by add_bos_token and add_eos_token. AddSpacePrefix is
//     set by a normalizer Prepend("▁") or a Metaspace pre-tokenizer that
//     prepends (Gemma: neither).
//
// The normalizer must map spaces to ▁ (Replace(" ", "▁"), optionally after
// Prepend("▁"), or a Metaspace pre-tokenizer without splitting) and do
// nothing else; a Split pre-tokenizer on spaces (Gemma 3's) is accepted
// since no space is left to split. The decoder is not read (Decode
// renders pieces as llama.cpp does); added tokens' lstrip, rstrip and
// single_word are ignored, as in the GGUF path.
//
// Errors wrap ErrVocab and say which file and which entry is wrong.
func ParseHF(tokenizerJSON, configJSON []byte) (*HF, error) {
	var tj hfTokenizer
	if err := json.Unmarshal(tokenizerJSON, &tj); err != nil {
		return nil, hfErr("tokenizer.json", "%s", hfJSONMsg(err))
	}
	var cfg hfConfig
	if configJSON != nil {
		if err := json.Unmarshal(configJSON, &cfg); err != nil {
			return nil, hfErr("tokenizer_config.json", "%s", hfJSONMsg(err))
		}
	}
	if err := tj.checkPipeline(); err != nil {
		return nil, err
	}
	b, err := tj.buildVocab(&cfg)
	if err != nil {
		return nil, err
	}
	h := &HF{Vocab: b}
	if h.ChatTemplate, err = cfg.chatTemplate(); err != nil {
		return nil, err
	}
	return h, nil
}

// hfTokenizer is the part of tokenizer.json that ParseHF reads.
type hfTokenizer struct {
	AddedTokens   []hfAdded    `json:"added_tokens"`
	Normalizer    *hfComponent `json:"normalizer"`
	PreTokenizer  *hfComponent `json:"pre_tokenizer"`
	PostProcessor *hfComponent `json:"post_processor"`
	Decoder       *hfComponent `json:"decoder"`
	Model         *hfModel     `json:"model"`
}

type hfModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	ByteFallback            bool            `json:"byte_fallback"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
}

// hfAdded is an added token (tokenizer.json added_tokens entry, or a value
// of tokenizer_config.json's added_tokens_decoder, which has no id).
type hfAdded struct {
	ID      int64  `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// hfComponent is a normalizer, pre-tokenizer, post-processor or decoder:
// the union of the fields ParseHF looks at.
type hfComponent struct {
	Type          string         `json:"type"`
	Normalizers   []*hfComponent `json:"normalizers"`
	Pretokenizers []*hfComponent `json:"pretokenizers"`
	Processors    []*hfComponent `json:"processors"`
	Decoders      []*hfComponent `json:"decoders"`
	Pattern       *struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Content       string  `json:"content"`
	Prepend       string  `json:"prepend"`
	Replacement   string  `json:"replacement"`
	PrependScheme string  `json:"prepend_scheme"`
	AddPrefix     *bool   `json:"add_prefix_space"`
	Split         *bool   `json:"split"`
	Single        []hfTpl `json:"single"`
}

// hfTpl is one item of a TemplateProcessing template.
type hfTpl struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

// hfConfig is the part of tokenizer_config.json that ParseHF reads.
type hfConfig struct {
	AddBOS             *bool              `json:"add_bos_token"`
	AddEOS             *bool              `json:"add_eos_token"`
	BOS                hfTokenRef         `json:"bos_token"`
	EOS                hfTokenRef         `json:"eos_token"`
	Unk                hfTokenRef         `json:"unk_token"`
	Pad                hfTokenRef         `json:"pad_token"`
	CLS                hfTokenRef         `json:"cls_token"`
	AddedTokensDecoder map[string]hfAdded `json:"added_tokens_decoder"`
	ChatTemplate       json.RawMessage    `json:"chat_template"`
}

// hfTokenRef is a special token named in tokenizer_config.json: a string,
// an object with "content", or absent/null.
type hfTokenRef struct {
	Content string
	Set     bool
}

func (r *hfTokenRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		r.Content, r.Set = s, true
		return nil
	}
	var o struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("a special token must be a string or an object with a content string")
	}
	if o.Content != nil {
		r.Content, r.Set = *o.Content, true
	}
	return nil
}

func hfErr(file, format string, args ...any) error {
	return fmt.Errorf("tokenizer: %s: %s: %w", file, fmt.Sprintf(format, args...), ErrVocab)
}

// hfJSONMsg shortens a JSON decoding error to one line.
func hfJSONMsg(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "value"
		}
		return fmt.Sprintf("%s: a JSON %s where %s belongs", clipText(where), te.Value, hfKind(te.Type.String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &se) && se.Offset > 0 && strings.Contains(se.Error(), "unexpected end"):
		return "JSON ends early"
	case errors.As(err, &se):
		return fmt.Sprintf("bad JSON at byte %d: %s", se.Offset, se.Error())
	}
	return "bad JSON: " + clipText(err.Error())
}

func hfKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "an object"
	case goType == "string":
		return "a string"
	case goType == "bool", goType == "*bool":
		return "a boolean"
	}
	return "a number"
}

// clipText quotes s for a message, shortened to 60 bytes.
func clipText(s string) string {
	if len(s) > 60 {
		return strconv.Quote(s[:60]) + "…"
	}
	return strconv.Quote(s)
}

// checkPipeline refuses models and pipeline components whose encoding is
// not SentencePiece BPE with spaces mapped to ▁.
func (tj *hfTokenizer) checkPipeline() error {
	m := tj.Model
	if m == nil {
		return hfErr("tokenizer.json", "no model")
	}
	if m.Type != "BPE" {
		t := m.Type
		if t == "" {
			t = "(none)"
		}
		return hfErr("tokenizer.json", "model type %s is not supported (only BPE converted from SentencePiece, as Gemma and Llama 2 use)", clipText(t))
	}
	switch {
	case !m.ByteFallback:
		return hfErr("tokenizer.json", "BPE model without byte_fallback (byte-level, GPT-2 style) is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return hfErr("tokenizer.json", "BPE continuing_subword_prefix is not supported")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return hfErr("tokenizer.json", "BPE end_of_word_suffix is not supported")
	}
	spaces := false // whether spaces become ▁
	if err := tj.Normalizer.checkNormalizer(&spaces); err != nil {
		return err
	}
	if err := tj.PreTokenizer.checkPreTokenizer(&spaces); err != nil {
		return err
	}
	if !spaces {
		return hfErr("tokenizer.json", "neither the normalizer nor the pre-tokenizer maps spaces to ▁ (SentencePiece's Replace(\" \", \"▁\"))")
	}
	return tj.Decoder.checkDecoder()
}

func isString(c *hfComponent, s string) bool {
	return c.Pattern != nil && c.Pattern.String != nil && *c.Pattern.String == s && c.Pattern.Regex == nil
}

func (c *hfComponent) checkNormalizer(spaces *bool) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for _, n := range c.Normalizers {
			if err := n.checkNormalizer(spaces); err != nil {
				return err
			}
		}
		return nil
	case "Replace":
		if isString(c, " ") && c.Content == spaceEsc {
			*spaces = true
			return nil
		}
	case "Prepend":
		if c.Prepend == spaceEsc {
			return nil
		}
	}
	return hfErr("tokenizer.json", "normalizer %s is not supported (only Replace(\" \", \"▁\") and Prepend(\"▁\"), as SentencePiece models use)", clipText(c.Type))
}

func (c *hfComponent) checkPreTokenizer(spaces *bool) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for _, p := range c.Pretokenizers {
			if err := p.checkPreTokenizer(spaces); err != nil {
				return err
			}
		}
		return nil
	case "Split":
		// Splitting on spaces after they became ▁ changes nothing.
		if isString(c, " ") && *spaces {
			return nil
		}
	case "Metaspace":
		if c.Replacement == spaceEsc && (c.Split == nil || !*c.Split) {
			*spaces = true
			return nil
		}
	}
	return hfErr("tokenizer.json", "pre-tokenizer %s is not supported (SentencePiece BPE runs on the whole text: only Metaspace without split, or Split on spaces after they became ▁)", clipText(c.Type))
}

func (c *hfComponent) checkDecoder() error {
	if c == nil {
		return nil
	}
	if c.Type == "ByteLevel" {
		return hfErr("tokenizer.json", "decoder ByteLevel (byte-level BPE) is not supported")
	}
	for _, d := range c.Decoders {
		if err := d.checkDecoder(); err != nil {
			return err
		}
	}
	return nil
}

// prependsSpace reports whether the normalizer or pre-tokenizer adds a
// leading ▁ (SentencePiece's dummy prefix).
func (tj *hfTokenizer) prependsSpace() bool {
	var walk func(c *hfComponent) bool
	walk = func(c *hfComponent) bool {
		if c == nil {
			return false
		}
		switch c.Type {
		case "Prepend":
			return true
		case "Metaspace":
			if c.PrependScheme != "" {
				return c.PrependScheme != "never"
			}
			return c.AddPrefix == nil || *c.AddPrefix
		}
		for _, l := range [][]*hfComponent{c.Normalizers, c.Pretokenizers} {
			for _, x := range l {
				if walk(x) {
					return true
				}
			}
		}
		return false
	}
	return walk(tj.Normalizer) || walk(tj.PreTokenizer)
}

// maxHFVocab bounds the number of token ids (largest real vocabularies are
// about a million).
const maxHFVocab = 1 << 24

// decodeMerges reads model.merges in either form: "a b" strings (split at
// the one space) or [a, b] pairs.
func decodeMerges(raw json.RawMessage) ([][2]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	inner := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("[")))
	if len(inner) > 0 && inner[0] == '"' {
		var ss []string
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, hfErr("tokenizer.json", "model.merges: %s", hfJSONMsg(err))
		}
		out := make([][2]string, len(ss))
		for i, s := range ss {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, hfErr("tokenizer.json", "merge %d %s is not two pieces separated by one space", i, clipText(s))
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, hfErr("tokenizer.json", "model.merges: %s", hfJSONMsg(err))
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, hfErr("tokenizer.json", "merge %d has %d pieces, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// looksSpecial is convert_hf_to_gguf.py's does_token_look_special: added
// tokens some models leave non-special that the converter makes control
// tokens.
func looksSpecial(s string) bool {
	switch s {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>") ||
		strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>") ||
		strings.HasPrefix(s, "<unused") && strings.HasSuffix(s, ">")
}

// buildVocab converts the model and the added tokens to a Vocab.
func (tj *hfTokenizer) buildVocab(cfg *hfConfig) (Vocab, error) {
	m := tj.Model
	var pieces map[string]int64
	if err := json.Unmarshal(m.Vocab, &pieces); err != nil {
		return Vocab{}, hfErr("tokenizer.json", "model.vocab: %s", hfJSONMsg(err))
	}
	merges, err := decodeMerges(m.Merges)
	if err != nil {
		return Vocab{}, err
	}
	if len(merges) >= maxHFVocab {
		return Vocab{}, hfErr("tokenizer.json", "%d merges: more than ranks a float32 score holds exactly", len(merges))
	}
	// Added tokens by id: tokenizer.json's, then tokenizer_config.json's.
	added := map[int64]hfAdded{}
	var addedOrder []hfAdded // tokenizer.json's, for looking special tokens up by content
	for _, a := range tj.AddedTokens {
		added[a.ID] = a
		addedOrder = append(addedOrder, a)
	}
	for key, a := range cfg.AddedTokensDecoder {
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return Vocab{}, hfErr("tokenizer_config.json", "added_tokens_decoder key %s is not a token id", clipText(key))
		}
		a.ID = id
		added[id] = a
	}
	n := int64(0)
	check := func(file, what string, id int64) error {
		if id < 0 || id >= maxHFVocab {
			return hfErr(file, "%s has id %d, outside [0, %d)", what, id, maxHFVocab)
		}
		n = max(n, id+1)
		return nil
	}
	for p, id := range pieces {
		if err := check("tokenizer.json", "model.vocab piece "+clipText(p), id); err != nil {
			return Vocab{}, err
		}
	}
	for id, a := range added {
		if err := check("tokenizer.json", "added token "+clipText(a.Content), id); err != nil {
			return Vocab{}, err
		}
	}
	if n == 0 {
		return Vocab{}, hfErr("tokenizer.json", "empty vocabulary")
	}
	present := int64(len(pieces))
	for id := range added {
		if id >= int64(len(pieces)) {
			present++
		}
	}
	if holes := n - min(present, n); holes > max(256, present) {
		return Vocab{}, hfErr("tokenizer.json", "ids run to %d but only about %d are defined", n-1, present)
	}

	v := Vocab{
		Tokens: make([]string, n), Scores: make([]float32, n), Types: make([]TokenType, n),
		BOS: 1, EOS: 2, Unknown: 0, Padding: -1, AddBOS: true,
		AddSpacePrefix: tj.prependsSpace(),
	}
	for i := range v.Tokens {
		v.Tokens[i] = fmt.Sprintf("[PAD%d]", i)
		v.Scores[i] = -10000
		v.Types[i] = Unused
	}
	// Scores from the merge ranks.
	rank := make([]int32, n)
	for i := range rank {
		rank[i] = -1
	}
	var buf []byte
	for r, mg := range merges {
		for _, half := range mg {
			if _, ok := pieces[half]; !ok {
				return Vocab{}, hfErr("tokenizer.json", "merge %d (%s %s): %s is not in model.vocab", r, clipText(mg[0]), clipText(mg[1]), clipText(half))
			}
		}
		buf = append(append(buf[:0], mg[0]...), mg[1]...)
		id, ok := pieces[string(buf)]
		if !ok {
			return Vocab{}, hfErr("tokenizer.json", "merge %d (%s %s): the merged piece is not in model.vocab", r, clipText(mg[0]), clipText(mg[1]))
		}
		if rank[id] < 0 {
			rank[id] = int32(r)
		}
	}
	unk := ""
	if m.UnkToken != nil {
		unk = *m.UnkToken
	}
	seen := make([]bool, n)
	for p, id := range pieces {
		if seen[id] {
			return Vocab{}, hfErr("tokenizer.json", "model.vocab gives id %d to two pieces (%s and %s)", id, clipText(v.Tokens[id]), clipText(p))
		}
		seen[id] = true
		v.Tokens[id], v.Types[id], v.Scores[id] = p, Normal, -float32(len(merges))
		if r := rank[id]; r >= 0 {
			v.Scores[id] = -float32(r)
		}
		if _, ok := parseByte(p); ok {
			v.Types[id], v.Scores[id] = Byte, 0
		}
		if unk != "" && p == unk {
			v.Types[id], v.Scores[id] = Unknown, 0
			v.Unknown = int32(id)
		}
	}
	for id, a := range added {
		c := a.Content
		if a.Special || looksSpecial(c) {
			v.Types[id] = Control
		} else {
			c = strings.ReplaceAll(c, spaceEsc, " ") // pre-normalize user-defined spaces
			v.Types[id] = UserDefined
		}
		v.Tokens[id], v.Scores[id] = c, -1000
	}
	tj.specials(&v, cfg, addedOrder)
	return v, nil
}

// specials sets the special ids and the add-BOS/EOS flags as
// convert_hf_to_gguf.py's SpecialVocab does.
func (tj *hfTokenizer) specials(v *Vocab, cfg *hfConfig, added []hfAdded) {
	find := func(content string) (int32, bool) {
		for _, a := range added {
			if a.Content == content {
				return int32(a.ID), true
			}
		}
		return 0, false
	}
	bos, eos, cls := cfg.BOS, cfg.EOS, cfg.CLS
	// The post-processor's template: a leading special token is BOS (or
	// CLS), a trailing one EOS.
	var procs []*hfComponent
	if p := tj.PostProcessor; p != nil {
		procs = append([]*hfComponent{p}, p.Processors...)
	}
	for _, p := range procs {
		switch p.Type {
		case "RobertaProcessing":
			v.AddBOS, v.AddEOS = true, true
		case "TemplateProcessing":
			if len(p.Single) <= 1 {
				continue
			}
			if first := p.Single[0].SpecialToken; first != nil && first.ID != "" {
				if !bos.Set && first.ID != cls.Content {
					bos = hfTokenRef{Content: first.ID, Set: true}
				}
				v.AddBOS = first.ID == bos.Content || cls.Set && first.ID == cls.Content
			}
			if last := p.Single[len(p.Single)-1].SpecialToken; last != nil && last.ID != "" {
				eos = hfTokenRef{Content: last.ID, Set: true}
				v.AddEOS = true
			}
		}
	}
	if !cfg.BOS.Set && cls.Set {
		bos = cls
	}
	for _, s := range []struct {
		ref hfTokenRef
		dst *int32
	}{{bos, &v.BOS}, {eos, &v.EOS}, {cfg.Unk, &v.Unknown}, {cfg.Pad, &v.Padding}} {
		if !s.ref.Set {
			continue
		}
		if id, ok := find(s.ref.Content); ok && int(id) < len(v.Tokens) {
			*s.dst = id
		}
	}
	if cfg.AddBOS != nil {
		v.AddBOS = *cfg.AddBOS
	}
	if cfg.AddEOS != nil {
		v.AddEOS = *cfg.AddEOS
	}
}

// chatTemplate returns the config's chat template: a string, or the
// "default" entry of a list of {name, template}.
func (c *hfConfig) chatTemplate() (string, error) {
	raw := bytes.TrimSpace(c.ChatTemplate)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", hfErr("tokenizer_config.json", "chat_template must be a string or a list of {name, template}")
	}
	names := make([]string, 0, len(list))
	for _, t := range list {
		if t.Name == "default" {
			return t.Template, nil
		}
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return "", hfErr("tokenizer_config.json", "chat_template list has no \"default\" (has %s)", clipText(strings.Join(names, ", ")))
}
