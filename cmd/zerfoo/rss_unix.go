//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// peakRSS returns the process's peak resident set size, or "n/a".
func peakRSS() string {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return "n/a"
	}
	kib := float64(ru.Maxrss) // KiB on Linux and the BSDs
	if runtime.GOOS == "darwin" {
		kib /= 1024 // bytes on macOS
	}
	return fmt.Sprintf("%.1f MiB", kib/1024)
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
