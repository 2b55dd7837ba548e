package tokenizer

// llama.cpp re-types some tokens by their text when it loads a vocabulary
// (llama_vocab::impl::load, "auto-detect special tokens by text", at the
// llama.cpp commit of tools/llamacpp): a "control-looking" token that the
// file types otherwise becomes control, with the log line "control-looking
// token … was not control-type; this is probably a bug in the model". Gemma
// 3's vocabulary has one: </s> (id 212), typed user-defined, which llama.cpp
// therefore spells out as text unless special tokens are parsed, and does
// not render when decoding without them. New applies the same rules, in the
// same order, so that ids match llama.cpp's:
//
//  1. For each fill-in-the-middle role whose id the GGUF metadata does not
//     give (tokenizer.ggml.fim_pre_token_id and the like), the first token
//     whose text is one of the role's (fimTexts) becomes control. llama.cpp
//     takes the first in hash-map order; New takes the lowest id, which
//     differs only for a vocabulary with several texts of one role.
//     (llama.cpp's end-of-turn and end-of-message lookups come first, but
//     their texts are all in eogTexts, so rule 2 covers them.)
//  2. Every token whose text is in eogTexts (end of generation) becomes
//     control.
//  3. gpt-oss's <|channel|>, <|message|>, <|start|> and <|constrain|>
//     become user-defined (always rendered).
//  4. With <|return|> and <|call|>, or <|call|> or <|calls|> and <|flush|>,
//     <|end|> becomes user-defined (o200k_harmony, solar-open).
//  5. With <|tool_response>, </s> becomes normal (Gemma 4, PaddleOCR).
//
// A llama.cpp token attribute is a set of flags, so a user-defined token
// made control is "user-defined | control"; it is matched, skipped and
// rendered exactly as a control token, which is the type New gives it.
// llama.cpp's other text rules (unused tokens; LSTRIP/RSTRIP for Phi-3,
// Jina and ModernBERT files, chosen by general.name) change neither the
// ids of an SPM vocabulary nor its rendering, or concern other models, and
// are not applied.

// The fill-in-the-middle roles, in llama.cpp's order.
const (
	fimPre = iota
	fimSuf
	fimMid
	fimPad
	fimRep
	fimSep
	numFIM
)

// fimKeys are the GGUF keys that give each role's id, the deprecated ones
// (tokenizer.ggml.prefix_token_id …) last.
var fimKeys = [numFIM][]string{
	fimPre: {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"},
	fimSuf: {"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"},
	fimMid: {"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"},
	fimPad: {"tokenizer.ggml.fim_pad_token_id"},
	fimRep: {"tokenizer.ggml.fim_rep_token_id"},
	fimSep: {"tokenizer.ggml.fim_sep_token_id"},
}

// fimTexts are the texts by which llama.cpp recognises each role.
var fimTexts = [numFIM][]string{
	fimPre: {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"},
	fimSuf: {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"},
	fimMid: {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"},
	fimPad: {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
	fimRep: {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
	fimSep: {"<|file_sep|>"},
}

// eogTexts are the texts of llama.cpp's end-of-generation tokens.
var eogTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<｜end▁of▁sentence｜>", "[e~[",
}

// retype returns the token types as llama.cpp has them after loading:
// the file's types (values outside the known ones read as Undefined)
// re-typed by the rules above. byText maps each text to its id; fimGiven
// has bit r set when the metadata gave role r's id.
func retype(types []TokenType, byText map[string]int32, fimGiven uint8) []TokenType {
	out := make([]TokenType, len(types))
	for i, t := range types {
		if t < Undefined || t > Byte {
			t = Undefined
		}
		out[i] = t
	}
	has := func(s string) bool { _, ok := byText[s]; return ok }
	set := func(s string, t TokenType) {
		if id, ok := byText[s]; ok {
			out[id] = t
		}
	}
	for r := 0; r < numFIM; r++ {
		if fimGiven&(1<<r) != 0 {
			continue
		}
		first := int32(-1)
		for _, s := range fimTexts[r] {
			if id, ok := byText[s]; ok && (first < 0 || id < first) {
				first = id
			}
		}
		if first >= 0 {
			out[first] = Control
		}
	}
	for _, s := range eogTexts {
		set(s, Control)
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		set(s, UserDefined)
	}
	call := has("<|call|>") || has("<|calls|>")
	if has("<|end|>") && call && (has("<|return|>") || has("<|flush|>")) {
		set("<|end|>", UserDefined)
	}
	if has("<|tool_response>") {
		set("</s>", Normal)
	}
	return out
}
