package grammar

import "fmt"

// The JSON pieces are llama.cpp's (common/json-schema-to-grammar.cpp),
// written over bytes: strings are UTF-8 validated byte by byte, numbers
// have at most maxIntDigits integer and maxFracDigits fraction digits and
// at most maxExpDigits exponent digits (so every number encoding/json
// reads fits a float64), and white space between tokens is bounded: none,
// one space, or one or two newlines and up to maxIndent spaces or tabs.
const (
	maxIntDigits  = 16
	maxFracDigits = 16
	maxExpDigits  = 2
	maxIndent     = 20
)

// JSONObject returns the grammar of any JSON object (response_format
// json_object): values nest freely, with the bounded white space above.
func JSONObject() *Grammar { return jsonObject }

// JSONValue returns the grammar of any JSON value.
func JSONValue() *Grammar { return jsonValue }

var jsonObject, jsonValue = mustPrimitive((*builder).object), mustPrimitive((*builder).value)

func mustPrimitive(f func(*builder) (int32, error)) *Grammar {
	b := newBuilder()
	r, err := f(b)
	if err != nil {
		panic(err)
	}
	g, err := b.compile(r)
	if err != nil {
		panic(err)
	}
	return g
}

// shared returns the rule called name, building it on first use; the rule
// exists (for recursive references) while build runs.
func (b *builder) shared(name string, build func() ([][]item, error)) (int32, error) {
	if r, ok := b.memo[name]; ok {
		return r, nil
	}
	r := b.newRule(name)
	b.memo[name] = r
	alts, err := build()
	if err != nil {
		return 0, err
	}
	return r, b.setAlts(r, alts...)
}

// oneOf returns a shared rule matching one byte of s.
func (b *builder) oneOf(name string, s byteSet) int32 {
	r, _ := b.shared(name, func() ([][]item, error) { return [][]item{one(b.set(s))}, nil })
	return r
}

func (b *builder) digit() int32 { return b.oneOf("json:digit", rangeSet('0', '9')) }

func hexSet() byteSet { return rangeSet('0', '9').union(rangeSet('a', 'f')).union(rangeSet('A', 'F')) }

// space is llama.cpp's SPACE_RULE: "" | " " | "\n"{1,2} [ \t]{0,20}.
func (b *builder) space() int32 {
	r, _ := b.shared("json:space", func() ([][]item, error) {
		nl := b.oneOf("json:newline", setOf('\n'))
		ind := b.oneOf("json:indent", setOf(' ', '\t'))
		return [][]item{nil, one(b.set(setOf(' '))), one(b.set(setOf('\n')), rep(nl, 0, 1), rep(ind, 0, maxIndent))}, nil
	})
	return r
}

// charSeqs lists the encodings of one character inside a JSON string as
// sequences of byte classes: printable ASCII but '"' and '\', every
// well-formed UTF-8 sequence of two to four bytes (no surrogates, no
// overlong forms), and the escapes — \uXXXX without surrogate halves, so
// that a character of the grammar is one code point (minLength and
// maxLength count code points). DEL and the C0 controls appear only
// escaped, as in llama.cpp's char rule.
func charSeqs() [][]byteSet {
	cont := rangeSet(0x80, 0xBF)
	hex := hexSet()
	return [][]byteSet{
		{rangeSet(0x20, 0x7E).minus(setOf('"', '\\'))},
		{rangeSet(0xC2, 0xDF), cont},
		{setOf(0xE0), rangeSet(0xA0, 0xBF), cont},
		{rangeSet(0xE1, 0xEC).union(rangeSet(0xEE, 0xEF)), cont, cont},
		{setOf(0xED), rangeSet(0x80, 0x9F), cont},
		{setOf(0xF0), rangeSet(0x90, 0xBF), cont, cont},
		{rangeSet(0xF1, 0xF3), cont, cont, cont},
		{setOf(0xF4), rangeSet(0x80, 0x8F), cont, cont},
		{setOf('\\'), setOf('"', '\\', '/', 'b', 'f', 'n', 'r', 't')},
		{setOf('\\'), setOf('u'), hex.minus(setOf('d', 'D')), hex, hex, hex},
		{setOf('\\'), setOf('u'), setOf('d', 'D'), rangeSet('0', '7'), hex, hex},
	}
}

// seqItems returns the items of a byte-class sequence.
func (b *builder) seqItems(s []byteSet) []item {
	out := make([]item, len(s))
	for i, c := range s {
		out[i] = b.set(c)
	}
	return out
}

// char matches one character of a JSON string.
func (b *builder) char() int32 {
	r, _ := b.shared("json:char", func() ([][]item, error) {
		var alts [][]item
		for _, s := range charSeqs() {
			alts = append(alts, b.seqItems(s))
		}
		return alts, nil
	})
	return r
}

// str matches a JSON string of min to max characters (max < 0: no bound).
func (b *builder) str(min, max int32) (int32, error) {
	return b.shared(fmt.Sprintf("json:string{%d,%d}", min, max), func() ([][]item, error) {
		q := b.set(setOf('"'))
		return [][]item{one(q, rep(b.char(), min, max), q)}, nil
	})
}

func (b *builder) intPart() int32 {
	r, _ := b.shared("json:integral-part", func() ([][]item, error) {
		return [][]item{one(b.set(setOf('0'))), one(b.set(rangeSet('1', '9')), rep(b.digit(), 0, maxIntDigits-1))}, nil
	})
	return r
}

// integer is "-"? integral-part.
func (b *builder) integer() (int32, error) {
	return b.shared("json:integer", func() ([][]item, error) {
		return [][]item{one(rep(b.oneOf("json:minus", setOf('-')), 0, 1), ref(b.intPart()))}, nil
	})
}

// number is "-"? integral-part ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?.
func (b *builder) number() (int32, error) {
	return b.shared("json:number", func() ([][]item, error) {
		frac, err := b.rule("json:fraction", one(b.set(setOf('.')), rep(b.digit(), 1, maxFracDigits)))
		if err != nil {
			return nil, err
		}
		exp, err := b.rule("json:exponent", one(b.set(setOf('e', 'E')), rep(b.oneOf("json:sign", setOf('-', '+')), 0, 1), rep(b.digit(), 1, maxExpDigits)))
		if err != nil {
			return nil, err
		}
		return [][]item{one(rep(b.oneOf("json:minus", setOf('-')), 0, 1), ref(b.intPart()), rep(frac, 0, 1), rep(exp, 0, 1))}, nil
	})
}

func (b *builder) boolean() (int32, error) {
	return b.shared("json:boolean", func() ([][]item, error) { return [][]item{b.lit("true"), b.lit("false")}, nil })
}

func (b *builder) null() (int32, error) {
	return b.shared("json:null", func() ([][]item, error) { return [][]item{b.lit("null")}, nil })
}

// value matches any JSON value.
func (b *builder) value() (int32, error) {
	return b.shared("json:value", func() ([][]item, error) {
		var alts [][]item
		for _, f := range []func(*builder) (int32, error){(*builder).object, (*builder).array, (*builder).anyString, (*builder).number, (*builder).boolean, (*builder).null} {
			r, err := f(b)
			if err != nil {
				return nil, err
			}
			alts = append(alts, one(ref(r)))
		}
		return alts, nil
	})
}

func (b *builder) anyString() (int32, error) { return b.str(0, -1) }

// object is "{" space (string ":" space value ("," space string ":" space value)*)? space "}".
func (b *builder) object() (int32, error) {
	return b.shared("json:object", func() ([][]item, error) {
		s, err := b.anyString()
		if err != nil {
			return nil, err
		}
		v, err := b.value()
		if err != nil {
			return nil, err
		}
		sp := ref(b.space())
		kv, err := b.rule("json:object-kv", one(ref(s), b.set(setOf(':')), sp, ref(v)))
		if err != nil {
			return nil, err
		}
		more, err := b.rule("json:object-more", one(b.set(setOf(',')), sp, ref(kv)))
		if err != nil {
			return nil, err
		}
		body, err := b.rule("json:object-body", one(ref(kv), rep(more, 0, -1)))
		if err != nil {
			return nil, err
		}
		return [][]item{one(b.set(setOf('{')), sp, rep(body, 0, 1), sp, b.set(setOf('}')))}, nil
	})
}

// array is "[" space (value ("," space value)*)? space "]".
func (b *builder) array() (int32, error) {
	return b.shared("json:array", func() ([][]item, error) {
		v, err := b.value()
		if err != nil {
			return nil, err
		}
		return b.list(v, 0, -1)
	})
}

// list returns the alternatives of "[" space ... space "]" holding min to
// max (< 0: unbounded) items of rule v separated by "," space.
func (b *builder) list(v int32, min, max int32) ([][]item, error) {
	open, sp, close := b.set(setOf('[')), ref(b.space()), b.set(setOf(']'))
	if max == 0 {
		return [][]item{one(open, sp, close)}, nil
	}
	more, err := b.rule(b.names[v]+",", one(b.set(setOf(',')), sp, ref(v)))
	if err != nil {
		return nil, err
	}
	bound := func(n int32) int32 {
		if n < 0 {
			return -1
		}
		return n - 1
	}
	if min == 0 {
		body, err := b.rule(b.names[v]+"*", one(ref(v), rep(more, 0, bound(max))))
		if err != nil {
			return nil, err
		}
		return [][]item{one(open, sp, rep(body, 0, 1), sp, close)}, nil
	}
	return [][]item{one(open, sp, ref(v), rep(more, min-1, bound(max)), sp, close)}, nil
}

// The string formats of llama.cpp's STRING_FORMAT_RULES, and uuid.
func (b *builder) date() (int32, error) {
	return b.shared("json:date", func() ([][]item, error) {
		d := b.set(rangeSet('0', '9'))
		month, err := b.rule("json:month", b.seqItems([]byteSet{setOf('0'), rangeSet('1', '9')}), b.seqItems([]byteSet{setOf('1'), rangeSet('0', '2')}))
		if err != nil {
			return nil, err
		}
		day, err := b.rule("json:day", b.seqItems([]byteSet{setOf('0'), rangeSet('1', '9')}), b.seqItems([]byteSet{rangeSet('1', '2'), rangeSet('0', '9')}), b.seqItems([]byteSet{setOf('3'), rangeSet('0', '1')}))
		if err != nil {
			return nil, err
		}
		dash := b.set(setOf('-'))
		return [][]item{one(d, d, d, d, dash, ref(month), dash, ref(day))}, nil
	})
}

func (b *builder) time() (int32, error) {
	return b.shared("json:time", func() ([][]item, error) {
		hour, err := b.rule("json:hour", b.seqItems([]byteSet{rangeSet('0', '1'), rangeSet('0', '9')}), b.seqItems([]byteSet{setOf('2'), rangeSet('0', '3')}))
		if err != nil {
			return nil, err
		}
		d, d5, colon := b.set(rangeSet('0', '9')), b.set(rangeSet('0', '5')), b.set(setOf(':'))
		ms, err := b.rule("json:milliseconds", one(b.set(setOf('.')), d, d, d))
		if err != nil {
			return nil, err
		}
		zone, err := b.rule("json:zone", b.lit("Z"), one(b.set(setOf('+', '-')), ref(hour), colon, d5, d))
		if err != nil {
			return nil, err
		}
		return [][]item{one(ref(hour), colon, d5, d, colon, d5, d, rep(ms, 0, 1), ref(zone))}, nil
	})
}

// quoted returns the shared rule '"' ref(r) '"'.
func (b *builder) quoted(name string, r func() (int32, error)) (int32, error) {
	return b.shared(name, func() ([][]item, error) {
		in, err := r()
		if err != nil {
			return nil, err
		}
		q := b.set(setOf('"'))
		return [][]item{one(q, ref(in), q)}, nil
	})
}

func (b *builder) dateString() (int32, error) { return b.quoted("json:date-string", b.date) }

func (b *builder) timeString() (int32, error) { return b.quoted("json:time-string", b.time) }

func (b *builder) dateTimeString() (int32, error) {
	return b.quoted("json:date-time-string", func() (int32, error) {
		return b.shared("json:date-time", func() ([][]item, error) {
			d, err := b.date()
			if err != nil {
				return nil, err
			}
			t, err := b.time()
			if err != nil {
				return nil, err
			}
			return [][]item{one(ref(d), b.set(setOf('T')), ref(t))}, nil
		})
	})
}

func (b *builder) uuid() (int32, error) {
	return b.shared("json:uuid", func() ([][]item, error) {
		h, q, dash := b.oneOf("json:hex", hexSet()), b.set(setOf('"')), b.set(setOf('-'))
		return [][]item{one(q, rep(h, 8, 8), dash, rep(h, 4, 4), dash, rep(h, 4, 4), dash, rep(h, 4, 4), dash, rep(h, 12, 12), q)}, nil
	})
}
