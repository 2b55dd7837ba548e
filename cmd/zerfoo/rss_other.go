//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

// peakRSS returns "n/a": this system has no getrusage.
func peakRSS() string { return "n/a" }
