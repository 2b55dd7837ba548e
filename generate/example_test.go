package generate_test

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
)

// The built-in model (the one `zerfoo generate` runs without --model)
// continues a prompt greedily: the zero Sampling is argmax decoding.
func Example() {
	ctx := context.Background()
	path, err := defaultmodel.Path()
	if err != nil {
		panic(err)
	}
	m, err := generate.Load(ctx, path)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	res, err := m.Run(ctx, "A goroutine is", generate.Options{MaxTokens: 8})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n%d tokens, finish: %s\n", res.Text, len(res.Tokens), res.Finish)
	// Output:
	// " not panicking or complete"
	// 8 tokens, finish: length
}

// Stop strings end the generation; the stop string is not returned.
func Example_stop() {
	ctx := context.Background()
	path, err := defaultmodel.Path()
	if err != nil {
		panic(err)
	}
	m, err := generate.Load(ctx, path)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	res, err := m.Run(ctx, "A goroutine is", generate.Options{Stop: []string{" or"}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q, finish: %s\n", res.Text, res.Finish)
	// Output: " not panicking", finish: stop
}
