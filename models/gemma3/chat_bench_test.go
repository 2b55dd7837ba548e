package gemma3_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// cpuSeconds is the process's CPU time (see gemma3's internal tests).
var cpuSeconds = gemma3.CPUSeconds

// raceEnabled reports a -race build (see gemma3's internal tests).
const raceEnabled = gemma3.RaceEnabled

var (
	chatFile   = flag.String("gemma3.chatfile", "", "GGUF file of BenchmarkChatTurn (default: the random 270m-shaped Q4_0 model)")
	chatCached = flag.String("gemma3.cached", "0,432", "cached positions before the step of BenchmarkChatTurn")
	chatNew    = flag.String("gemma3.new", "49,1", "new tokens of the step of BenchmarkChatTurn")
)

// BenchmarkChatTurn measures the step behind a chat turn's first token
// with the prompt cache: one Batch.Forward of 49 new tokens (-gemma3.new;
// 1 is a decode step), with the logits of the last, after 0 and after 432
// cached positions (-gemma3.cached; turn 1 and turn 10 of a 10-turn chat
// of 48-token turns), on the -gemma3.chatfile model, for each KV cache
// type of -gemma3.cache and thread count of -gemma3.threads.
//
// Each iteration runs one step of every cached count, alternating (one
// State per count, rewound before its step), and times each step by the
// process's CPU time (getrusage), which stays meaningful on a loaded
// machine where wall time does not. It reports the median CPU time of
// each count's steps (cpu-ms@N) and the ratio of the last count's median
// to the first's: what issue 15's "turn 10 within 1.2× of turn 1" asks
// about.
func BenchmarkChatTurn(b *testing.B) {
	ctx := context.Background()
	path := *chatFile
	if path == "" {
		path = bench270mFile(b, quant.Q4_0)
	}
	m, err := gemma3.Load(path, gemma3.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	var cached, threads, news []int
	for _, list := range []struct {
		s   string
		out *[]int
	}{{*chatCached, &cached}, {*benchThr, &threads}, {*chatNew, &news}} {
		for _, f := range strings.Split(list.s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatal(err)
			}
			*list.out = append(*list.out, n)
		}
	}
	maxCached, maxNew := 0, 0
	for _, n := range cached {
		maxCached = max(maxCached, n)
	}
	for _, n := range news {
		maxNew = max(maxNew, n)
	}
	maxLen := maxCached + maxNew
	hist := benchPromptTokens(maxLen)
	logits := make([]float32, m.Config.Vocab)
	for _, ctName := range strings.Split(*benchCache, ",") {
		ct, err := gemma3.ParseCacheType(ctName)
		if err != nil {
			b.Fatal(err)
		}
		for _, th := range threads {
			bt, err := m.NewBatch(gemma3.BatchOptions{MaxRows: max(64, maxNew), MaxSeqs: 1, MaxLen: maxLen, Threads: th})
			if err != nil {
				b.Fatal(err)
			}
			// One State per cached count, filled in 48-token turns as a
			// chat would.
			states := make([]*gemma3.State, len(cached))
			for i, n := range cached {
				s := m.NewState(gemma3.StateOptions{MaxLen: maxLen, Batch: max(64, maxNew), CacheType: ct, CacheOnly: true})
				if err := s.Err(); err != nil {
					b.Fatal(err)
				}
				for p := 0; p < n; p += 48 {
					if err := bt.Forward(ctx, []gemma3.Seq{{State: s, Tokens: hist[p:min(p+48, n)]}}); err != nil {
						b.Fatal(err)
					}
				}
				states[i] = s
			}
			for _, newTokens := range news {
				b.Run(fmt.Sprintf("cache=%v/threads=%d/new=%d", ct, th, newTokens), func(b *testing.B) {
					ms := make([][]float64, len(cached))
					wall := make([][]float64, len(cached))
					for b.Loop() {
						for i, n := range cached {
							if err := states[i].Rewind(n); err != nil {
								b.Fatal(err)
							}
							seq := []gemma3.Seq{{State: states[i], Tokens: hist[n : n+newTokens], Logits: logits}}
							cpu0, t0 := cpuSeconds(), time.Now()
							if err := bt.Forward(ctx, seq); err != nil {
								b.Fatal(err)
							}
							ms[i] = append(ms[i], (cpuSeconds()-cpu0)*1e3)
							wall[i] = append(wall[i], float64(time.Since(t0).Microseconds())/1e3)
						}
					}
					for i, n := range cached {
						b.ReportMetric(median(ms[i]), fmt.Sprintf("cpu-ms@%d", n))
					}
					b.ReportMetric(median(ms[len(ms)-1])/median(ms[0]), "ratio")
					// wall time too: at 2 threads what a served turn waits for
					for i, n := range cached {
						b.ReportMetric(median(wall[i]), fmt.Sprintf("wall-ms@%d", n))
					}
					b.ReportMetric(median(wall[len(wall)-1])/median(wall[0]), "wall-ratio")
				})
			}
		}
	}
}

// median returns the median of x (x is reordered).
func median(x []float64) float64 {
	slices.Sort(x)
	if len(x)%2 == 1 {
		return x[len(x)/2]
	}
	return (x[len(x)/2-1] + x[len(x)/2]) / 2
}
