package generate_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
)

// A Batcher serves concurrent requests in one continuous batch; a second
// turn that repeats the first's prompt takes it from the slot's cache.
// The two prompts share only the start-of-text token (under a tenth of
// either), so whichever finishes first, the other takes the unused slot
// rather than evicting it: the third request finds its prefix cached.
func ExampleBatcher() {
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
	b, err := m.NewBatcher(generate.BatcherOptions{Slots: 2, Context: 512})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	prompts := []string{"In the Go programming language, a goroutine is", "Unbuffered channels in the Go programming language are"}
	out := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		ids, err := m.Encode(p, false)
		if err != nil {
			panic(err)
		}
		wg.Go(func() {
			res, err := b.Run(ctx, ids, generate.Options{MaxTokens: 8})
			if err != nil {
				panic(err)
			}
			out[i] = res.Text
		})
	}
	wg.Wait()
	ids, _ := m.Encode(prompts[0]+out[0]+" because", false)
	res, err := b.Run(ctx, ids, generate.Options{MaxTokens: 4})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n%q\n%d of %d prompt tokens cached\n", out[0], out[1], res.CachedTokens, res.PromptTokens)
	// Output:
	// " panicking or completly"
	// " not\nthatures a f"
	// 24 of 28 prompt tokens cached
}
