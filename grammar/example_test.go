package grammar_test

import (
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/grammar"
)

func ExampleFromJSONSchema() {
	g, err := grammar.FromJSONSchema([]byte(`{
		"type": "object",
		"properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
		"required": ["name"]
	}`))
	if err != nil {
		panic(err)
	}
	m := g.Matcher()
	fmt.Println(m.Accept([]byte(`{"name": "Ada"`)), m.Done())
	fmt.Println(m.Allows([]byte(`, "age": -1`)), m.Allows([]byte(`, "age": 36}`)))
	fmt.Println(m.Accept([]byte(`}`)), m.Done(), m.More())
	// Output:
	// true false
	// false true
	// true true false
}

func ExampleFromJSONSchema_error() {
	_, err := grammar.FromJSONSchema([]byte(`{"type": "array", "items": {"type": "string"}, "uniqueItems": true}`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, grammar.ErrUnsupported))
	// Output:
	// grammar: schema #/uniqueItems: uniqueItems: true is not supported
	// true
}

func ExampleMatcher_Fill() {
	tokens := [][]byte{[]byte(`{"`), []byte(`{}`), []byte(`[`), []byte(`: 1}`), []byte(`:`), []byte(`"}`)}
	v := grammar.NewVocab(tokens)
	m := grammar.JSONObject().Matcher()
	allow := make([]bool, v.Len())
	fmt.Println(m.Fill(v, allow), allow)
	m.Accept([]byte(`{"ok"`))
	fmt.Println(m.Fill(v, allow), allow)
	// Output:
	// 2 [true true false false false false]
	// 2 [false false false true true false]
}

func ExampleJSONObject() {
	m := grammar.JSONObject().Matcher()
	fmt.Println(m.Accept([]byte(`[1]`)), m.Accept([]byte("{\n  \"a\": [1, {\"b\": null}]\n}")), m.Done())
	// Output: false true true
}
