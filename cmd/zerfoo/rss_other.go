//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

import "time"

// peakRSS returns "n/a": this system has no getrusage.
func peakRSS() string { return "n/a" }

// cpuTime reports false: this system has no getrusage.
func cpuTime() (time.Duration, bool) { return 0, false }
