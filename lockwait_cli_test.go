package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Plans run in a loop while applies of changed files run one after
// another: a plan holding the state's shared lock for a moment makes no
// apply fail, and an apply starting (before its copy for readers is
// published) makes no plan fail.
func TestPlansDuringApplies(t *testing.T) {
	slowTests(t)
	w := newCrashWorld(t, 200)
	ctx := context.Background()
	if out, err := w.cmd(ctx, "apply", "-auto-approve").CombinedOutput(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	plans, failed, firstFailure := 0, 0, ""
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := w.cmd(ctx, "plan").CombinedOutput()
				mu.Lock()
				plans++
				if err != nil {
					failed++
					if firstFailure == "" {
						firstFailure = fmt.Sprintf("%v\n%s", err, out)
					}
				}
				mu.Unlock()
			}
		}()
	}
	const applies = 8
	for i := range applies {
		name := fmt.Sprintf("g%04d.png", i)
		b, err := makeImage(".png", name)
		// Written aside and renamed: a plan running meanwhile never
		// sees the file empty or half written.
		dst := filepath.Join(w.dir, "img", name)
		if err == nil {
			err = os.WriteFile(dst+".tmp", b, 0o644)
		}
		if err == nil {
			err = os.Rename(dst+".tmp", dst)
		}
		if err != nil {
			t.Fatal(err)
		}
		if out, err := w.cmd(ctx, "apply", "-auto-approve").CombinedOutput(); err != nil {
			t.Errorf("apply %d of %d while plans run: %v\n%s", i+1, applies, err, out)
		}
	}
	close(stop)
	wg.Wait()
	if failed > 0 {
		t.Errorf("%d of %d plans failed while applies ran, first: %s", failed, plans, firstFailure)
	}
	t.Logf("%d plans ran during %d applies", plans, applies)
}
