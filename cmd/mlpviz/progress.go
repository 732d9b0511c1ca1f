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
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w, interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.interval = true, 100*time.Millisecond
		}
	}
	return b
}

func (b *progressBar) update(p trainer.Progress) {
	now := time.Now()
	if now.Sub(b.last) < b.interval && p.Batch != p.Batches {
		b.pending = &p
		return
	}
	b.last = now
	b.draw(p)
}

func (b *progressBar) draw(p trainer.Progress) {
	b.pending = nil
	const width = 24
	filled := width * p.Batch / max(p.Batches, 1)
	line := fmt.Sprintf("epoch %d/%d [%s%s] %d/%d step %d  loss %.4f  acc %5.1f%%  %.0f img/s",
		p.Epoch, p.Epochs, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.Batch, p.Batches, p.Step, p.Loss, 100*p.Accuracy, p.ImagesPerSecond)
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
