package qgemm

import (
	"context"
	"sync"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// StreamRead reads every 64-bit word of buf once, split into contiguous
// chunks over up to threads workers (0: all), and returns their XOR: a plain
// streaming read, the bandwidth bound that an M=1 MatMul over the same
// number of bytes is measured against. Each worker reads its chunk in
// blocks of 4 MiB, each block as four concurrent sequential streams (its
// quarters), as the M=1 kernels read several runs of weight rows at once:
// on the 2-vCPU EPYC of docs/PERFORMANCE.md one stream per core reads
// 10–25 % slower, so a one-stream bound would understate the machine. A panic in a chunk (a bug) is
// re-raised on the calling goroutine as a *workerpool.PanicError.
func StreamRead(buf []uint64, threads int) uint64 {
	if threads <= 0 || threads > workerpool.Workers() {
		threads = workerpool.Workers()
	}
	var (
		mu sync.Mutex
		x  uint64
	)
	n := len(buf) / 32 // 256-byte pieces
	err := workerpool.ForN(context.Background(), n, 4096, threads, func(lo, hi int) {
		c := xorWords(buf[lo*32 : hi*32])
		mu.Lock() // once per chunk
		x ^= c
		mu.Unlock()
	})
	if err != nil {
		// Only a bug in xorWords can panic (the chunks index buf within its
		// length); the pool recovered it on whichever goroutine ran the
		// chunk, and StreamRead, which has no error result, re-raises it
		// here, on its caller's goroutine, with the original stack inside.
		panic(err)
	}
	return x ^ xorWords(buf[n*32:])
}

// streamBlock is the words of one block of xorWords (4 MiB: quarters of
// 1 MiB, far enough apart to read as well as streams megabytes apart).
const streamBlock = 512 << 10

// xorWordsGo returns the XOR of the words of buf, in four chains.
func xorWordsGo(buf []uint64) uint64 {
	var x0, x1, x2, x3 uint64
	i := 0
	for ; i+4 <= len(buf); i += 4 {
		x0 ^= buf[i]
		x1 ^= buf[i+1]
		x2 ^= buf[i+2]
		x3 ^= buf[i+3]
	}
	for ; i < len(buf); i++ {
		x0 ^= buf[i]
	}
	return x0 ^ x1 ^ x2 ^ x3
}
