// Package grammar constrains generated text to a formal language: a JSON
// Schema (or any JSON object) compiled to a context-free grammar over
// bytes and matched by a pushdown automaton, so that a sampler can refuse
// every token that would leave the language.
//
//	g, err := grammar.FromJSONSchema(schema) // or grammar.JSONObject()
//	m := g.Matcher()                          // one per generation
//	m.Allows(tokenBytes)                      // would these bytes be accepted?
//	m.Accept(tokenBytes)                      // advance over them
//	m.Done(), m.More()                        // complete? can it go on?
//	m.Fill(vocab, allow)                      // every token at once
//
// The package knows bytes only, not tokenizers: a Vocab is built from the
// bytes each token id adds to the text (generate.TokenBytes).
//
// # Grammar
//
// FromJSONSchema follows llama.cpp's common/json-schema-to-grammar.cpp,
// so that a model sees the same language as under llama-server:
//
//   - white space between JSON tokens is bounded: none, one space, or one
//     or two newlines and up to 20 spaces or tabs, at the places llama.cpp
//     allows it (after '{', '[', ':' and ',', before '}' and ']'); nothing
//     before or after the value;
//   - object properties come in the order of "properties": the required
//     ones, then any of the optional ones, then additional ones;
//     additionalProperties defaults to false when the schema has
//     properties (llama.cpp's choice), to true otherwise;
//   - numbers have at most 16 integer and 16 fraction digits; exponents
//     have at most 2 digits (llama.cpp allows 16, which encoding/json cannot
//     read into a float64), and none under minimum or maximum;
//   - strings are UTF-8 checked byte by byte (a character may span tokens);
//     C0 controls and DEL only escaped; \u escapes never surrogate halves
//     (so that a grammar character is one code point for minLength and
//     maxLength);
//   - oneOf is generated as anyOf, and a value implied by its keywords
//     ("properties" → an object) is generated only of that type, as
//     llama.cpp does;
//   - formats date, time, date-time and uuid are generated (llama.cpp's
//     rules); other formats are annotations.
//
// It goes further than llama.cpp where llama.cpp would let output violate
// the schema: number minimum/maximum and exclusive bounds (llama.cpp only
// bounds integers), allOf by merging its schemas (properties, required,
// bounds, enums intersected), anyOf/oneOf combined with the keywords
// beside them, additional property names that exclude the declared ones
// exactly (escapes included), enum and const values checked against the
// rest of the schema, unanchored patterns (JSON Schema's meaning), and
// counted repetitions without unrolling (minItems, maxLength up to 2³¹-1
// cost nothing).
//
// Supported keywords: type (one or a list), properties, required,
// additionalProperties, items, prefixItems, additionalItems, minItems,
// maxItems, enum, const, anyOf, oneOf, allOf, $ref (local JSON pointers:
// #/$defs/…, #/definitions/…, #, recursion allowed; resolved in the
// innermost enclosing subschema with an $id, so that schemas embed with
// their own $defs), minLength, maxLength,
// pattern (RE2 syntax; anchors only leading ^ and trailing $), format,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum (draft-4 booleans
// too), nullable, uniqueItems false. Refused with a *SchemaError naming
// the keyword and its JSON pointer: not, if/then/else, dependencies,
// patternProperties, propertyNames, min/maxProperties, unevaluated*,
// contains, multipleOf, uniqueItems true, remote $refs. Every other
// keyword (title, description, default, examples, $defs, vendor keywords)
// is an annotation.
//
// # Matching
//
// A Matcher holds the parses of the bytes so far as stacks of frames
// (grammar position, repetition count) in one arena, tails shared; rules
// are entered lazily, only through alternatives whose FIRST set holds the
// next byte, so a deterministic grammar keeps one parse. Accept and Allows
// do not allocate once the arena has grown; an ambiguous grammar keeps at
// most 64 parses (each can still complete, so dropping the rest only
// narrows the output).
//
// Fill decides a whole vocabulary: it walks the tokens in byte order,
// reusing the state of each shared prefix and skipping all tokens under a
// refused one, and inside a JSON string it takes every token of plain
// characters at once. On Gemma 3's 262144-token vocabulary it takes
// 0.1–0.3 ms between values and inside strings; a key that is still a
// prefix of a declared property beside additionalProperties, or a pattern,
// walks most of the vocabulary (tens of ms). BenchmarkFill measures it.
//
// A Grammar is immutable and safe for concurrent use; a Matcher is not.
package grammar
