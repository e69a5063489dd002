package terminal

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/wxmedia/wxmedia/plan"
)

// Progress of long work (hashing source files, uploading) goes to stderr,
// and only for work that lasts: nothing is shown before progressDelay. On a
// terminal it is a bar redrawn in place; otherwise a plain line every
// Terminal.ProgressEvery.
const (
	progressDelay = 2 * time.Second
	progressTick  = 150 * time.Millisecond
)

// Progress tracks one piece of long work. Its counters may be updated from
// many goroutines; the display is drawn by its own goroutine.
type Progress struct {
	t     *Terminal
	verb  string // "hashing" or "uploading"
	files int64  // total files, known at start
	size  int64  // total bytes, 0 when unknown (hashing)
	start time.Time

	done, bytes, failed atomic.Int64

	// mu guards the display: the bar and whether it is on screen.
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	visible bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// StartProgress begins tracking work of files files (and size bytes, when
// known). It returns nil, which every method accepts, when there is nothing
// to show.
func (t *Terminal) StartProgress(verb string, files int, size int64) *Progress {
	every := t.ProgressEvery
	if every <= 0 || files == 0 {
		return nil
	}
	p := &Progress{t: t, verb: verb, files: int64(files), size: size, start: time.Now(), stop: make(chan struct{})}
	delay := min(progressDelay, every)
	if t.ErrTerminal {
		p.bar = p.newBar()
		// Rates and the time left count from the start of the work.
		p.bar.StartWithoutRender()
	}
	t.progress.Store(p)
	p.wg.Add(1)
	go p.run(delay, every)
	return p
}

func (p *Progress) newBar() *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.t.Stderr),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(0),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionEnableColorCodes(p.t.ErrColor),
		progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionSetRenderBlankState(false),
		// Clear and redraw with ANSI line erasure ("\x1b[2K"), not spaces,
		// so that a redraw never leaves a wrapped remnant.
		progressbar.OptionUseANSICodes(true),
	}
	if p.t.ErrColor {
		opts = append(opts, progressbar.OptionSetTheme(progressbar.Theme{
			Saucer: "[green]=[reset]", SaucerHead: "[green]>[reset]", SaucerPadding: " ", BarStart: "[", BarEnd: "]",
		}))
	} else {
		opts = append(opts, progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}))
	}
	if p.size > 0 {
		// Uploads: a bar of bytes, with the byte rate and the time left.
		opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionUseIECUnits(true))
		return progressbar.NewOptions64(p.size, opts...)
	}
	// Hashing: a bar of files, with files/s and the time left.
	opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("files"))
	return progressbar.NewOptions64(p.files, opts...)
}

// describe is the bar's description: files done and current failures.
func (p *Progress) describe() string {
	s := fmt.Sprintf("wxmedia: %s", p.verb)
	if p.size > 0 {
		s += fmt.Sprintf(" %d/%d files", p.done.Load(), p.files)
	} else if b := p.bytes.Load(); b > 0 {
		s += fmt.Sprintf(" (%s read)", plan.FormatBytes(b))
	}
	if f := p.failed.Load(); f > 0 {
		if p.t.ErrColor {
			s += fmt.Sprintf(", [red]%d failed[reset]", f)
		} else {
			s += fmt.Sprintf(", %d failed", f)
		}
	}
	return s
}

// line is the plain progress line, e.g. "120/640 files, 3.1 MiB of 9 MiB,
// 40 files/s, 12s left, 2 failed".
func (p *Progress) line() string {
	done, bytes := p.done.Load(), p.bytes.Load()
	elapsed := time.Since(p.start).Seconds()
	parts := []string{fmt.Sprintf("%d/%d files", done, p.files)}
	switch {
	case p.size > 0:
		parts = append(parts, fmt.Sprintf("%s of %s", plan.FormatBytes(bytes), plan.FormatBytes(p.size)))
	case bytes > 0:
		parts = append(parts, plan.FormatBytes(bytes)+" read")
	}
	if elapsed > 0 {
		rate := float64(done) / elapsed
		if rate < 10 {
			parts = append(parts, fmt.Sprintf("%.1f files/s", rate))
		} else {
			parts = append(parts, fmt.Sprintf("%.0f files/s", rate))
		}
	}
	if left := p.left(elapsed); left > 0 {
		parts = append(parts, fmt.Sprintf("%s left", left))
	}
	if f := p.failed.Load(); f > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", f))
	}
	return strings.Join(parts, ", ")
}

// left estimates the time left from the rate so far: by bytes when the
// total is known, else by files.
func (p *Progress) left(elapsed float64) time.Duration {
	done, total := float64(p.done.Load()), float64(p.files)
	if p.size > 0 {
		done, total = float64(p.bytes.Load()), float64(p.size)
	}
	if done <= 0 || elapsed <= 0 || done >= total {
		return 0
	}
	secs := (total - done) / (done / elapsed)
	return time.Duration(secs * float64(time.Second)).Round(time.Second)
}

func (p *Progress) run(delay, every time.Duration) {
	defer p.wg.Done()
	select {
	case <-time.After(delay):
	case <-p.stop:
		return
	}
	if p.bar == nil {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			p.mu.Lock()
			p.t.StatusLine(p.verb, p.line())
			p.mu.Unlock()
			select {
			case <-t.C:
			case <-p.stop:
				return
			}
		}
	}
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		p.mu.Lock()
		p.drawLocked()
		p.mu.Unlock()
		select {
		case <-t.C:
		case <-p.stop:
			return
		}
	}
}

// drawLocked redraws the bar with the current counts.
func (p *Progress) drawLocked() {
	cur := p.done.Load()
	if p.size > 0 {
		cur = p.bytes.Load()
	}
	if cur >= p.bar.GetMax64() {
		// The bar library finishes (and stops drawing) at its maximum;
		// the work is not over until finish.
		cur = p.bar.GetMax64() - 1
	}
	p.bar.Describe(p.describe())
	_ = p.bar.Set64(cur)
	// Set64 draws only when the value moves the bar; the bar may just
	// have been cleared for a message, so draw it in any case.
	_ = p.bar.RenderBlank()
	p.visible = true
}

// clearLocked takes the bar off the screen.
func (p *Progress) clearLocked() {
	if p.bar != nil && p.visible {
		_ = p.bar.Clear()
		p.visible = false
	}
}

// Hashed counts one hashed file of size bytes; read is false when the stat
// cache vouched for it.
func (p *Progress) Hashed(size int64, read bool) {
	if p == nil {
		return
	}
	p.done.Add(1)
	if read {
		p.bytes.Add(size)
	}
}

// Uploaded counts one finished upload of size bytes.
func (p *Progress) Uploaded(size int64, failed bool) {
	if p == nil {
		return
	}
	p.done.Add(1)
	if failed {
		p.failed.Add(1)
		return
	}
	p.bytes.Add(size)
}

// Finish stops the display and takes the bar off the screen.
func (p *Progress) Finish() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	p.clearLocked()
	p.mu.Unlock()
	p.t.progress.CompareAndSwap(p, nil)
}
