package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mlpviz/mlpviz/trainer"
)

// progressBar draws one self-overwriting line on a terminal, or a plain
// line every few seconds when the output is a file or a pipe (CI logs).
type progressBar struct {
	w        io.Writer
	tty      bool
	last     time.Time
	shown    bool
	interval time.Duration
	pending  *trainer.Progress // the latest update not yet drawn
	maxSteps int               // --max-steps; 0: the epochs set the end
	saved    func() int        // passes in the run file: a pass is announced once it is there
	device   string            // the backend's name ("cpu", "cuda"), after the img/s
}

func newProgressBar(w io.Writer, maxSteps int) *progressBar {
	b := &progressBar{w: w, interval: 5 * time.Second, maxSteps: maxSteps}
	if f, ok := w.(*os.File); ok {
		// Under the supervisor (supervise_linux.go) stderr is a pipe to a terminal.
		if st, err := f.Stat(); err == nil && (st.Mode()&os.ModeCharDevice != 0 || os.Getenv("MLPVIZ_STDERR_TTY") == "1") {
			b.tty, b.interval = true, 100*time.Millisecond
		}
	}
	// MLPVIZ_PROGRESS_EVERY=1s sets how often a log gets a line.
	if d, err := time.ParseDuration(os.Getenv("MLPVIZ_PROGRESS_EVERY")); err == nil && d > 0 {
		b.interval = d
	}
	return b
}

func (b *progressBar) update(p trainer.Progress) {
	now := time.Now()
	if now.Sub(b.last) < b.interval && p.Batch != p.Batches && p.Step != b.maxSteps {
		b.pending = &p
		return
	}
	b.last = now
	b.draw(p)
}

func (b *progressBar) draw(p trainer.Progress) {
	b.pending = nil
	const width = 24
	// The bar counts to the end of the run: the epoch's last batch, or
	// --max-steps when that comes first.
	done, total, count := p.Batch, p.Batches, fmt.Sprintf("%d/%d step %d", p.Batch, p.Batches, p.Step)
	if b.maxSteps > 0 && b.maxSteps < p.Epochs*p.Batches {
		done, total, count = p.Step, b.maxSteps, fmt.Sprintf("step %d/%d", p.Step, b.maxSteps)
	}
	filled := width * min(done, total) / max(total, 1)
	line := fmt.Sprintf("epoch %d/%d [%s%s] %s  loss %.4f  acc %5.1f%%  %.0f img/s",
		p.Epoch, p.Epochs, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		count, p.Loss, 100*p.Accuracy, p.ImagesPerSecond)
	if b.device != "" {
		line += " on " + b.device
	}
	if b.saved != nil {
		n, unit := b.saved(), "passes"
		if n == 1 {
			unit = "pass"
		}
		line += fmt.Sprintf("  %d %s saved", n, unit)
	}
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\033[K", line)
	} else {
		fmt.Fprintln(b.w, line)
	}
	b.shown = true
}

// finish draws the last update and ends the bar's line so the next output
// starts cleanly.
func (b *progressBar) finish() {
	if b.pending != nil {
		b.draw(*b.pending)
	}
	if b.tty && b.shown {
		fmt.Fprintln(b.w)
	}
}
