package gemma3_test

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

var (
	benchSeqs  = flag.String("gemma3.seqs", "1,4,8,16", "sequence counts of BenchmarkBatchDecode")
	benchCache = flag.String("gemma3.cache", "f16", "KV cache type of BenchmarkBatchDecode (f32, f16, q8_0)")
)

// BenchmarkBatchDecode measures continuous-batching decode on the random
// gemma-3-270m-shaped model (-gemma3.types, -gemma3.vocab, -gemma3.dir,
// -gemma3.threads as BenchmarkGemma270m): N sequences (-gemma3.seqs),
// each with its own 16-token prompt, decode one token each per
// Batch.Forward with greedy argmax over their logits, positions 16 to 79,
// then all restart untimed. It reports the aggregate tokens/s of all N
// sequences and the time of one step: with weights read once per step,
// aggregate tokens/s grows with N until the step becomes compute-bound.
func BenchmarkBatchDecode(b *testing.B) {
	ctx := context.Background()
	ct, err := gemma3.ParseCacheType(*benchCache)
	if err != nil {
		b.Fatal(err)
	}
	var counts, threadList []int
	for _, list := range []struct {
		s   string
		out *[]int
	}{{*benchSeqs, &counts}, {*benchThr, &threadList}} {
		for _, f := range strings.Split(list.s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatal(err)
			}
			*list.out = append(*list.out, n)
		}
	}
	maxN := 0
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	for _, name := range strings.Split(*benchTypes, ",") {
		typ, err := quant.ParseType(name)
		if err != nil {
			b.Fatal(err)
		}
		m, err := gemma3.Load(bench270mFile(b, typ), gemma3.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		V := m.Config.Vocab
		for _, threads := range threadList {
			bt, err := m.NewBatch(gemma3.BatchOptions{MaxRows: 16 * maxN, MaxSeqs: maxN, MaxLen: benchCtx, Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range counts {
				b.Run(fmt.Sprintf("%v/threads=%d/seqs=%d", typ, threads, n), func(b *testing.B) {
					seqs := make([]gemma3.Seq, n)
					prompts := make([][]int32, n)
					logits := make([]float32, n*V) // rows of one array: written in place
					for i := range seqs {
						s := m.NewState(gemma3.StateOptions{MaxLen: benchCtx, Batch: 16, CacheType: ct, CacheOnly: true})
						seqs[i] = gemma3.Seq{State: s, Tokens: make([]int32, 1), Logits: logits[i*V : (i+1)*V]}
						prompts[i] = benchPromptTokens(16 + i)[i:] // distinct prompts
					}
					prefill := func() {
						in := make([]gemma3.Seq, n)
						for i := range seqs {
							seqs[i].State.Reset()
							in[i] = gemma3.Seq{State: seqs[i].State, Tokens: prompts[i], Logits: seqs[i].Logits}
						}
						if err := bt.Forward(ctx, in); err != nil {
							b.Fatal(err)
						}
					}
					prefill()
					steps := 0
					cpu0 := cpuSeconds()
					for b.Loop() {
						if seqs[0].State.Pos() == 16+benchGen {
							b.StopTimer()
							prefill()
							b.StartTimer()
						}
						for i := range seqs {
							seqs[i].Tokens[0] = greedy(seqs[i].Logits)
						}
						if err := bt.Forward(ctx, seqs); err != nil {
							b.Fatal(err)
						}
						steps++
					}
					b.ReportMetric(float64(steps*n)/b.Elapsed().Seconds(), "tokens/s")
					b.ReportMetric(float64(steps*n)/(cpuSeconds()-cpu0), "tokens/cpu-s")
					b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(steps), "ms/step")
				})
			}
		}
		m.Close()
	}
}
