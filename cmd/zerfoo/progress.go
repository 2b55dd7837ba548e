package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/zerfoo/zerfoo/budget"
)

// progress reports a long step on stderr: a bar redrawn in place when
// stderr is a terminal, otherwise a plain line when another tenth of the
// work is done, at most one a second, and one at the end (so that logs
// hold no carriage returns), nothing with --quiet. The zero total is
// learnt from the first set.
type progress struct {
	s      *streams
	desc   string
	bytes  bool // done and total count bytes
	total  int64
	bar    *progressbar.ProgressBar
	decile int64     // last tenth reported as a line
	line   time.Time // when that line was written
}

// progress returns a reporter for a step described by desc ("loading").
func (s *streams) progress(desc string, total int64, bytes bool) *progress {
	return &progress{s: s, desc: desc, total: total, bytes: bytes, decile: -1, line: time.Now()}
}

// set reports that done of total units are finished.
func (p *progress) set(done, total int64) {
	if p.s.quiet {
		return
	}
	if total > 0 {
		p.total = total
	}
	if p.s.tty {
		if p.bar == nil {
			opts := []progressbar.Option{progressbar.OptionSetWriter(p.s.err), progressbar.OptionSetDescription(p.desc),
				progressbar.OptionThrottle(100 * time.Millisecond), progressbar.OptionClearOnFinish(),
				progressbar.OptionSetWidth(30), progressbar.OptionShowCount()}
			if p.bytes {
				opts = append(opts, progressbar.OptionShowBytes(true))
			}
			p.bar = progressbar.NewOptions64(p.total, opts...)
		}
		_ = p.bar.Set64(done)
		return
	}
	if p.total <= 0 {
		return
	}
	d := min(10, done*10/p.total)
	if d <= p.decile || d < 10 && time.Since(p.line) < time.Second {
		return
	}
	p.decile, p.line = d, time.Now()
	if p.bytes {
		fmt.Fprintf(p.s.err, "%s: %d%% (%s of %s)\n", p.desc, d*10, budget.FormatBytes(done), budget.FormatBytes(p.total))
	} else {
		fmt.Fprintf(p.s.err, "%s: %d%% (%d of %d)\n", p.desc, d*10, done, p.total)
	}
}

// describe changes the bar's description (terminals only).
func (p *progress) describe(desc string) {
	if p.s.tty {
		p.desc = desc
	}
	if p.bar != nil {
		p.bar.Describe(desc)
	}
}

// finish ends the bar (clearing its line).
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// drawn reports whether a bar occupies the current line of stderr.
func (p *progress) drawn() bool { return p.bar != nil }
