package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// barshown TYPESCRIPT TIMING MARK PERCENT: replay a session recorded by
// script(1) with -O TYPESCRIPT -T TIMING (classic format: one "DELAY BYTES"
// line per chunk of output) on a model of the terminal's bottom line, and
// require that, from the first time a line containing MARK (the progress
// bar) is drawn until the last, the bottom line shows MARK at least
// PERCENT of the time. Lines that scrolled up must not contain MARK: the
// messages are printed above the bar, never mixed with it.
//
// The model knows what the progress display and the messages write: text,
// "\r", "\n", and the erase-line sequences "\x1b[2K" and "\x1b[0K"; other
// escape sequences (colour) are skipped. No terminal emulator library is a
// dependency here, and these few rules are all the check needs.
func cmdBarShown(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 4 || neg {
		ts.Fatalf("usage: barshown TYPESCRIPT TIMING MARK PERCENT")
	}
	out, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	timing, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	mark := args[2]
	want, err := strconv.ParseFloat(args[3], 64)
	ts.Check(err)
	// script(1) starts the typescript with a "Script started" line unless -q.
	if i := bytes.IndexByte(out, '\n'); i >= 0 && bytes.HasPrefix(out, []byte("Script started")) {
		out = out[i+1:]
	}
	var term lineModel
	var now, first, end, shownFor, shownSince float64
	seen := false
	sc := bufio.NewScanner(bytes.NewReader(timing))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		delay, err1 := strconv.ParseFloat(f[0], 64)
		n, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || n > len(out) {
			ts.Fatalf("%s: bad timing line %q", args[1], sc.Text())
		}
		wasShown := seen && strings.Contains(term.line(), mark)
		now += delay
		if wasShown {
			shownFor += now - shownSince
			end = now
		}
		for _, l := range term.write(out[:n]) {
			if strings.Contains(l, mark) {
				ts.Fatalf("a line scrolled up with the progress bar in it: %q", l)
			}
		}
		out = out[n:]
		if strings.Contains(term.line(), mark) {
			if !seen {
				seen, first = true, now
			}
			shownSince = now
		}
	}
	ts.Check(sc.Err())
	if !seen {
		ts.Fatalf("%q was never on the bottom line", mark)
	}
	// From the first draw to the end of the last interval it was on screen.
	span := end - first
	if span <= 0 {
		ts.Fatalf("%q was drawn only once; the session was too short to judge", mark)
	}
	pct := 100 * shownFor / span
	ts.Logf("progress bar on screen %.1f%% of %.3fs", pct, span)
	if pct < want {
		ts.Fatalf("the progress bar was on screen %.1f%% of the %.3fs it was in use, want at least %s%%", pct, span, args[3])
	}
}

// lineModel is the bottom line of a terminal.
type lineModel struct {
	cur []rune
	col int
}

func (m *lineModel) line() string { return string(m.cur) }

// write applies b and returns the lines that scrolled up.
func (m *lineModel) write(b []byte) (scrolled []string) {
	s := []rune(string(b))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			scrolled = append(scrolled, string(m.cur))
			m.cur, m.col = nil, 0
		case c == '\r':
			m.col = 0
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j < len(s) && s[j] == 'K' {
				switch string(s[i+2 : j]) {
				case "2":
					m.cur = nil
				case "", "0":
					if m.col < len(m.cur) {
						m.cur = m.cur[:m.col]
					}
				}
			}
			i = j
		case c < 0x20:
		default:
			for len(m.cur) <= m.col {
				m.cur = append(m.cur, ' ')
			}
			m.cur[m.col] = c
			m.col++
		}
	}
	return scrolled
}
