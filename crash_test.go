package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader/sandbox"
)

// slowTests gates the suites that take tens of seconds; .ci/run sets it.
func slowTests(t *testing.T) {
	t.Helper()
	if os.Getenv("WXMEDIA_SLOW_TESTS") == "" {
		t.Skip("set WXMEDIA_SLOW_TESTS=1 to run the crash and fault suites")
	}
}

// buildBinary builds the real wxmedia binary once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wxmedia")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashWorld is a config directory of n distinct images for the merchant of
// a sandbox server that runs in the test process.
type crashWorld struct {
	t    *testing.T
	bin  string
	dir  string
	sb   *sandbox.Sandbox
	shas map[string]string // address -> sha256
}

func newCrashWorld(t *testing.T, n int) *crashWorld {
	w := &crashWorld{t: t, bin: buildBinary(t), dir: t.TempDir(), shas: map[string]string{}}
	sb, err := sandbox.Open(filepath.Join(t.TempDir(), "srv"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); sb.Close() })
	w.sb = sb
	if err := sb.WriteMerchantConfig(filepath.Join(w.dir, "merchant.wxm.hcl"), srv.URL(), "1900000001"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(w.dir, "img"), 0o755)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%04d.png", i)
		b, err := makeImage(".png", name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.dir, "img", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		w.shas[fmt.Sprintf("wechatpay_image.img[%q]", name)] = hex.EncodeToString(s[:])
	}
	os.WriteFile(filepath.Join(w.dir, "images.wxm.hcl"), []byte(`
resource "wechatpay_image" "img" {
  for_each = fileset("img", "*.png")
  source   = "img/${each.value}"
}
output "count" {
  value = length(wechatpay_image.img)
}
`), 0o644)
	return w
}

func (w *crashWorld) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, w.bin, append([]string{"-chdir=" + w.dir}, args...)...)
	c.Env = append(os.Environ(), "NO_COLOR=1")
	return c
}

func (w *crashWorld) snapshot() *state.Snapshot {
	st, err := state.OpenLocal(filepath.Join(w.dir, ".wxmedia", "state.db"), state.Options{ReadOnly: true, LockTimeout: 5 * time.Second})
	if err != nil {
		w.t.Fatalf("state does not open after a kill: %v", err)
	}
	defer st.Close()
	snap, err := st.Snapshot()
	if err != nil {
		w.t.Fatalf("state does not read after a kill: %v", err)
	}
	return snap
}

// TestCrashSafety kills applies with SIGKILL at random moments, then runs
// to completion, checking that the state always opens, that no committed
// identifier is lost or uploaded again, and that duplicates stay within
// the uploads in flight at each kill.
func TestCrashSafety(t *testing.T) {
	slowTests(t)
	const files, parallelism = 640, 8
	w := newCrashWorld(t, files)
	f, _ := sandbox.ParseFaults("delay=40ms")
	w.sb.SetFaults(f)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))

	committed := map[string]string{}  // address -> identifier, ever committed
	countAtCommit := map[string]int{} // sha256 -> by_sha256 when first seen committed
	kills := 0
	for kills < 40 {
		snap := w.snapshot()
		if len(snap.Resources) == files {
			break
		}
		c := w.cmd(context.Background(), "apply", "-auto-approve", fmt.Sprintf("-parallelism=%d", parallelism))
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+rng.Intn(250)) * time.Millisecond)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		kills++

		snap = w.snapshot()
		stats := w.sb.Stats()
		for addr, id := range committed {
			if got := snap.Resources[addr].ID; got != id {
				t.Fatalf("after kill %d: %s was %q, now %q: a committed identifier was lost", kills, addr, id, got)
			}
		}
		for addr, r := range snap.Resources {
			if _, ok := committed[addr]; !ok {
				committed[addr] = r.ID
				countAtCommit[r.SHA256] = stats.BySHA256[r.SHA256]
			}
		}
	}

	// Run to completion.
	out, err := w.cmd(context.Background(), "apply", "-auto-approve").CombinedOutput()
	if err != nil {
		t.Fatalf("final apply: %v\n%s", err, out)
	}
	snap := w.snapshot()
	if len(snap.Resources) != files {
		t.Fatalf("final state has %d of %d resources", len(snap.Resources), files)
	}
	stats := w.sb.Stats()
	for addr, id := range committed {
		if snap.Resources[addr].ID != id {
			t.Fatalf("%s: committed identifier %q lost (now %q)", addr, id, snap.Resources[addr].ID)
		}
	}
	for sha, n := range countAtCommit {
		if stats.BySHA256[sha] != n {
			t.Fatalf("content %s uploaded again after its identifier was committed (%d → %d)", sha[:12], n, stats.BySHA256[sha])
		}
	}
	dups := stats.Uploads - files
	// The contract (README): a crash or a kill loses the uploads in
	// flight or awaiting their commit, never more than four times
	// -parallelism.
	perKill := 4 * parallelism
	bound := kills * perKill
	if dups > bound {
		t.Fatalf("%d duplicate uploads for %d kills with at most %d unrecorded each", dups, kills, perKill)
	}
	if err := w.cmd(context.Background(), "plan", "-detailed-exitcode").Run(); err != nil {
		t.Fatalf("plan after the final apply is not clean: %v", err)
	}
	t.Logf("files=%d kills=%d uploads=%d duplicates=%d (bound %d = kills × %d uploads in flight or awaiting commit) identifiers lost=0",
		files, kills, stats.Uploads, dups, bound, perKill)
}

// TestInterrupt sends SIGINT during an apply: uploads in flight finish and
// are committed, the exit status is 1 with a message saying the run can be
// resumed, and the next apply completes the rest.
func TestInterrupt(t *testing.T) {
	slowTests(t)
	const files = 200
	w := newCrashWorld(t, files)
	f, _ := sandbox.ParseFaults("delay=30ms")
	w.sb.SetFaults(f)
	c := w.cmd(context.Background(), "apply", "-auto-approve", "-parallelism=4")
	var out safeBuffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once uploads are under way (the handler is installed by then).
	for deadline := time.Now().Add(30 * time.Second); w.sb.Stats().Uploads < 5; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no upload started within 30s:\n%s", out.String())
		}
	}
	c.Process.Signal(os.Interrupt)
	err := c.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("interrupted apply: %v\n%s", err, out.String())
	}
	if !containsAll(out.String(), "interrupted", "apply again") {
		t.Fatalf("no resume message:\n%s", out.String())
	}
	snap := w.snapshot()
	stats := w.sb.Stats()
	if len(snap.Resources) == 0 || len(snap.Resources) == files {
		t.Fatalf("interrupt at a bad moment: %d of %d recorded", len(snap.Resources), files)
	}
	// Every upload the sandbox issued was committed: in-flight work finished.
	if stats.Uploads != len(snap.Resources) {
		t.Fatalf("sandbox issued %d identifiers, state recorded %d", stats.Uploads, len(snap.Resources))
	}
	if out, err := w.cmd(context.Background(), "apply", "-auto-approve").CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if got := w.sb.Stats().Uploads; got != files {
		t.Fatalf("%d uploads in all for %d files", got, files)
	}
	t.Logf("interrupted after %d of %d; resumed with no duplicate", stats.Uploads, files)
}

// TestFaultyServer applies against a server that fails often; at most two
// re-runs complete it, no unverified identifier is recorded, and the plan
// is clean after.
func TestFaultyServer(t *testing.T) {
	slowTests(t)
	const files = 300
	w := newCrashWorld(t, files)
	f, err := sandbox.ParseFaults("500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms")
	if err != nil {
		t.Fatal(err)
	}
	w.sb.SetFaults(f)
	runs := 0
	for ; runs < 3; runs++ {
		err := w.cmd(context.Background(), "apply", "-auto-approve", "-parallelism=8").Run()
		if err == nil {
			break
		}
		snap := w.snapshot()
		for addr, r := range snap.Resources {
			if _, ok := w.sb.Lookup(r.ID); !ok {
				t.Fatalf("%s recorded an identifier the sandbox never issued: %q", addr, r.ID)
			}
		}
	}
	if runs == 3 {
		t.Fatalf("apply did not complete in three runs")
	}
	w.sb.SetFaults(sandbox.Faults{})
	if err := w.cmd(context.Background(), "plan", "-detailed-exitcode").Run(); err != nil {
		t.Fatalf("plan not clean: %v", err)
	}
	stats := w.sb.Stats()
	t.Logf("files=%d runs=%d sandbox uploads=%d (extra from bad signatures %d)", files, runs+1, stats.Uploads, stats.Uploads-files)
}

// safeBuffer is a bytes.Buffer safe for a process's stdout and stderr.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestLockContention runs a second apply while one holds the state: it
// fails after -lock-timeout naming the holder, uploads nothing, and the
// first apply completes unharmed.
func TestLockContention(t *testing.T) {
	slowTests(t)
	const files = 100
	w := newCrashWorld(t, files)
	f, _ := sandbox.ParseFaults("delay=60ms")
	w.sb.SetFaults(f)
	first := w.cmd(context.Background(), "apply", "-auto-approve", "-parallelism=2")
	var firstOut safeBuffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	lockInfo := filepath.Join(w.dir, ".wxmedia", "state.db.lock.json")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(lockInfo); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first apply did not take the lock within 30s:\n%s", firstOut.String())
		}
	}
	before := w.sb.Stats().Uploads
	start := time.Now()
	out, err := w.cmd(context.Background(), "apply", "-auto-approve", "-lock-timeout=400ms").CombinedOutput()
	waited := time.Since(start)
	if err == nil {
		t.Fatalf("second apply succeeded while the first held the lock:\n%s", out)
	}
	msg := string(out)
	if !containsAll(msg, "locked", fmt.Sprintf("pid %d", first.Process.Pid), `"apply"`) {
		t.Fatalf("lock error does not name the holder:\n%s", msg)
	}
	if waited < 300*time.Millisecond || waited > 5*time.Second { // bbolt polls the lock every 50ms
		t.Fatalf("second apply gave up after %v, want about 400ms", waited)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, firstOut.String())
	}
	if got := w.sb.Stats().Uploads; got != files {
		t.Fatalf("%d uploads for %d files (second apply uploaded %d?)", got, files, got-files)
	}
	t.Logf("second apply refused after %v: %s (uploads before: %d)", waited.Round(time.Millisecond), firstLine(msg, "locked"), before)
}

func firstLine(s, containing string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, containing) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
