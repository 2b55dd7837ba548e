//go:build linux || darwin || freebsd

package gemma3

import (
	"math"
	"syscall"
	"time"
)

// cpuSeconds returns the user + system CPU time of the process. On a
// machine shared with other work, tokens per CPU second of a one-thread
// run measure the code rather than its share of the cores.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
