package gemma3_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/tune"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

var (
	benchDir     = flag.String("gemma3.dir", "", "directory for the 270m-shaped benchmark GGUF files, written if absent and kept (default: a temporary directory)")
	benchVocab   = flag.Int("gemma3.vocab", 262144, "vocabulary size of the 270m-shaped benchmark model")
	benchTypes   = flag.String("gemma3.types", "Q4_0,Q8_0", "weight types of BenchmarkGemma270m")
	benchFiles   = flag.String("gemma3.files", "", "comma-separated GGUF files BenchmarkGemma270m measures instead of -gemma3.types (e.g. llama-quantize mixes; named by file name)")
	benchThr     = flag.String("gemma3.threads", "1,2", "thread counts of BenchmarkGemma270m")
	benchSpeed   = flag.Bool("gemma3.prefer-speed", false, "load BenchmarkGemma270m's and TestLlamaCppFiles' models with LoadOptions.PreferSpeed")
	benchPromptN = flag.Int("gemma3.prompt", benchPrompt, "prompt tokens of BenchmarkGemma270m's prompt sub-benchmark (llama-bench -p)")
	benchBatch   = flag.Int("gemma3.batch", 0, "most prompt tokens per prefill step of the prompt sub-benchmark (StateOptions.Batch; 0: the whole prompt up to 512, llama-bench's -ub)")
	benchDepth   = flag.Int("gemma3.depth", 0, "cached tokens before each generated one in BenchmarkGemma270m's decode (llama-bench -d): its sequences restart at this depth after every 64 tokens")
)

// Sizes of the speed measurement, mirrored by tools/llamacpp/bench_gemma3.mjs.
const (
	benchPrompt = 128     // prompt tokens, one batch
	benchCtx    = 512     // positions per sequence
	benchGen    = 64      // tokens generated after a 16-token prompt, then the sequence restarts
	streamCap   = 2 << 30 // bytes of the decode benchmark's streaming-read buffer, at most
)

// bench270mConfig is gemma-3-270m's shape (18 layers, hidden 640, 4 heads,
// 1 KV head of 256, FFN 2048, window 512).
func bench270mConfig(b testing.TB) gemma3.Config {
	c, err := gemma3.Preset("270m")
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// bench270mFile returns the path of the random 270m-shaped model of type
// typ, writing it first if needed.
func bench270mFile(b *testing.B, typ quant.Type) string {
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("gemma3-270m-%v-v%d.gguf", typ, *benchVocab))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	o := gemma3test.Options{Config: bench270mConfig(b), Type: typ, EmbedType: typ, Seed: 1, Vocab: *benchVocab}
	if err := gemma3test.Write(path+".tmp", o); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchPromptTokens returns BOS then vocabulary words.
func benchPromptTokens(n int) []int32 {
	p := []int32{2}
	for i := 0; len(p) < n; i++ {
		p = append(p, int32(363+(i*37)%190))
	}
	return p
}

// greedy returns the index of the first largest value (greedy sampling,
// as generate picks it: simd.Argmax).
func greedy(v []float32) int32 {
	i, _ := simd.Argmax(v)
	return int32(i)
}

// resetPeakRSS returns freed heap memory to the OS and resets the
// process's peak resident set (VmHWM); false where that is not possible.
func resetPeakRSS() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns VmHWM from /proc/self/status in bytes (0 if unknown).
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// readSplit is a streaming read of buf split into threads equal chunks,
// one per thread, as a one-row product splits its matrix; xs holds a
// result per chunk (threads values).
func readSplit(buf []uint64, threads int, xs []uint64) uint64 {
	if threads <= 1 {
		return qgemm.StreamRead(buf, 1)
	}
	_ = workerpool.ForN(context.Background(), threads, 1, threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xs[i] = qgemm.StreamRead(buf[i*len(buf)/threads:(i+1)*len(buf)/threads], 1)
		}
	})
	var x uint64
	for _, c := range xs[:threads] {
		x ^= c
	}
	return x
}

// kvBytes returns the float32 KV cache of a State of maxLen positions and
// prefill batch batch (global layers hold maxLen positions, local ones
// Window + batch − 1).
func kvBytes(c gemma3.Config, maxLen, batch int) int64 {
	var n int64
	for l := 0; l < c.Layers; l++ {
		cp := maxLen
		if !c.Global(l) {
			cp = min(cp, c.Window+batch-1)
		}
		n += int64(cp * c.KVDim() * 2 * 4)
	}
	return n
}

// BenchmarkGemma270m measures the random gemma-3-270m-shaped model (vocab
// -gemma3.vocab) at Q4_0 and Q8_0 on 1 and 2 threads: prompt tokens/s (a
// 128-token prompt in one batch, logits of its last position; with
// -gemma3.prompt N, N tokens in steps of up to 512) and decode
// tokens/s (one token per step with greedy argmax over the logits, as
// llama.cpp's sampler does; positions 16 to 79, then the sequence restarts
// untimed), its weight bytes per second against a streaming read of as
// many bytes (%bound) and against a read of the same bytes in the step's
// pieces, one per matrix product (%pieces). The memory sub-benchmark reports the peak RSS
// of loading the model and running a 128-token prompt and 64 decode steps
// against 1.2 × file size + KV cache (the bound).
// tools/llamacpp/bench_gemma3.sh runs it next to llama.cpp.
func BenchmarkGemma270m(b *testing.B) {
	ctx := context.Background()
	type model struct{ name, path string }
	var models []model
	if *benchFiles != "" {
		for _, p := range strings.Split(*benchFiles, ",") {
			models = append(models, model{strings.TrimSuffix(filepath.Base(p), ".gguf"), p})
		}
	} else {
		for _, name := range strings.Split(*benchTypes, ",") {
			typ, err := quant.ParseType(name)
			if err != nil {
				b.Fatal(err)
			}
			models = append(models, model{typ.String(), bench270mFile(b, typ)})
		}
	}
	var threadList []int
	for _, t := range strings.Split(*benchThr, ",") {
		n, err := strconv.Atoi(t)
		if err != nil {
			b.Fatal(err)
		}
		threadList = append(threadList, n)
	}
	for _, mod := range models {
		path := mod.path
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		canPeak := resetPeakRSS()
		m, err := gemma3.Load(path, gemma3.LoadOptions{PreferSpeed: *benchSpeed})
		if err != nil {
			b.Fatal(err)
		}
		prompt := benchPromptTokens(benchPrompt)
		longPrompt := prompt // the prompt sub-benchmark's (-gemma3.prompt)
		if *benchPromptN != benchPrompt {
			longPrompt = benchPromptTokens(*benchPromptN)
		}
		logits := make([]float32, m.Config.Vocab)
		b.Run(mod.name+"/memory", func(b *testing.B) {
			s := m.NewState(gemma3.StateOptions{MaxLen: benchCtx, Batch: benchPrompt, Threads: 1})
			for b.Loop() {
				s.Reset()
				if err := s.Forward(ctx, prompt, logits); err != nil {
					b.Fatal(err)
				}
				for range 64 {
					if err := s.Forward(ctx, []int32{greedy(logits)}, logits); err != nil {
						b.Fatal(err)
					}
				}
			}
			if !canPeak {
				b.Skip("no /proc/self/clear_refs: peak RSS unknown")
			}
			kv := kvBytes(m.Config, benchCtx, benchPrompt)
			peak := peakRSS()
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
			b.ReportMetric(float64(kv)/(1<<20), "kv-MiB")
			b.ReportMetric(float64(peak)/(1.2*float64(st.Size())+float64(kv)), "peak/bound")
		})
		for _, threads := range threadList {
			pre := fmt.Sprintf("%s/threads=%d/", mod.name, threads)
			b.Run(pre+"prompt", func(b *testing.B) {
				batch := *benchBatch
				if batch <= 0 {
					batch = min(len(longPrompt), 512)
				}
				s := m.NewState(gemma3.StateOptions{MaxLen: max(benchCtx, len(longPrompt)), Batch: batch, Threads: threads})
				cpu0 := cpuSeconds()
				for b.Loop() {
					s.Reset()
					if err := s.Forward(ctx, longPrompt, logits); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(longPrompt))/b.Elapsed().Seconds(), "tokens/s")
				b.ReportMetric(float64(b.N*len(longPrompt))/(cpuSeconds()-cpu0), "tokens/cpu-s")
			})
			decode := "decode"
			if *benchDepth > 0 {
				decode = fmt.Sprintf("decode@d%d", *benchDepth)
			}
			b.Run(pre+decode, func(b *testing.B) {
				depth := max(*benchDepth, 16) // a 16-token prompt without -gemma3.depth
				s := m.NewState(gemma3.StateOptions{MaxLen: depth + benchGen, Batch: benchPrompt, Threads: threads})
				start := benchPromptTokens(depth)
				if err := s.Forward(ctx, start, logits); err != nil {
					b.Fatal(err)
				}
				first := greedy(logits)
				// Untimed steps first, as llama-bench warms up: the one-row
				// kernels try prefetching and not on each matrix's first
				// 2·tune.Samples products (tune.Prefetch), and a run of 8
				// steps (a 27b model's) measured only those.
				for i := 0; i < 2*tune.Samples; i++ {
					if err := s.Forward(ctx, []int32{first}, logits); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Rewind(len(start)); err != nil {
					b.Fatal(err)
				}
				// The physical limit: after each step (untimed), a streaming
				// read of as many bytes as the step's weights with the same
				// threads, so that both see the same machine load; %bound is
				// the median over steps of the step's rate ÷ the next read's.
				// Then the same bytes read again in the step's pieces (one
				// read per matrix product, in order, each split over the
				// threads as the products are): %pieces is the step's rate
				// ÷ that read's, what the memory system gives a reader of
				// this many separate matrices.
				// The buffer is at most streamCap (or the largest piece),
				// read again as often as it takes: a 12b Q8_0 model and a
				// buffer of its size do not fit in 24 GiB together.
				wb := m.DecodeBytes()
				pieces := m.DecodePieces()
				words := min(wb, max(streamCap, slices.Max(pieces))) / 8
				buf := make([]uint64, words)
				mmap.HugePages(buf) // as the weights' copies and tiles are
				for i := range buf {
					buf[i] = uint64(i)
				}
				var parts [][]uint64
				xs := make([]uint64, threads) // readSplit's results
				off, at := 0, 0
				for _, p := range pieces {
					w := int(p / 8)
					if at+w > len(buf) {
						at = 0
					}
					parts = append(parts, buf[at:at+w])
					off, at = off+w, at+w
				}
				whole := wb / 8 // words of one streaming read: the step's bytes
				var (
					sink          uint64
					steps, reads  []time.Duration
					preads        []time.Duration
					stepT, readT0 time.Time
				)
				n := 0
				cpu0 := cpuSeconds()
				for b.Loop() {
					if s.Pos() == len(start)+benchGen {
						// Back to the prompt's end: its cache stays as it was.
						if err := s.Rewind(len(start)); err != nil {
							b.Fatal(err)
						}
					}
					stepT = time.Now()
					tok := first
					if s.Pos() > len(start) {
						tok = greedy(logits)
					}
					if err := s.Forward(ctx, []int32{tok}, logits); err != nil {
						b.Fatal(err)
					}
					readT0 = time.Now()
					steps = append(steps, readT0.Sub(stepT))
					b.StopTimer()
					cpuRead := cpuSeconds()
					for w := int64(0); w < whole; w += int64(len(buf)) {
						sink += qgemm.StreamRead(buf[:min(int64(len(buf)), whole-w)], threads)
					}
					reads = append(reads, time.Since(readT0))
					t := time.Now()
					for _, part := range parts {
						sink += readSplit(part, threads, xs)
					}
					preads = append(preads, time.Since(t))
					cpu0 += cpuSeconds() - cpuRead // the reads are not the model's CPU time
					b.StartTimer()
					n++
				}
				runtime.KeepAlive(sink)
				tps := float64(n) / b.Elapsed().Seconds()
				b.ReportMetric(tps, "tokens/s")
				b.ReportMetric(float64(n)/(cpuSeconds()-cpu0), "tokens/cpu-s")
				ratios := make([]float64, len(steps))
				pratios := make([]float64, len(steps))
				for i := range steps {
					ratios[i] = reads[i].Seconds() / steps[i].Seconds()
					pratios[i] = preads[i].Seconds() / steps[i].Seconds()
				}
				slices.Sort(ratios)
				slices.Sort(pratios)
				slices.Sort(reads)
				slices.Sort(preads)
				b.ReportMetric(float64(wb)*tps/1e9, "weightGB/s")
				b.ReportMetric(float64(8*whole)/reads[len(reads)/2].Seconds()/1e9, "streamGB/s")
				b.ReportMetric(100*ratios[len(ratios)/2]*float64(wb)/float64(8*whole), "%bound")
				b.ReportMetric(float64(8*off)/preads[len(preads)/2].Seconds()/1e9, "piecesGB/s")
				b.ReportMetric(100*pratios[len(pratios)/2]*float64(wb)/float64(8*off), "%pieces")
			})
		}
		m.Close()
	}
}
