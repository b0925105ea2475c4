package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/client"
)

// buildBinary builds aquahub once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func aquahubBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aquahub-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "aquahub")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const crashRules = `rules:
  - id: two-steps
    on: crash.test
    steps:
      - id: note
        log: { message: "got ${{ event.id }}", level: debug }
      - id: child
        emit: { type: crash.child, data: { parent: "${{ event.id }}" } }
`

// TestCrashRecovery kills the hub with SIGKILL at random moments under concurrent load,
// restarts it on the same data, and accounts for every event: each one that got a 2xx must
// be stored, and all its runs must complete.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := aquahubBinary(t)
	dir := t.TempDir()
	addr := freePort(t)
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(crashRules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("server: { addr: %q }\nstorage: { path: %q }\nrules: { paths: [ %q ] }\nengine: { lease_ttl: 5s }\nconnectors: { dir: %q }\ntenants:\n  - id: acme\n    api_keys: [ { key: crash-key, role: admin } ]\nlog: { level: warn }\n",
		addr, filepath.Join(dir, "data", "aquahub.db"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "connectors"))
	cfgPath := filepath.Join(dir, "aquahub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitReady(t, "http://"+addr)
		return cmd
	}
	c := client.New("http://"+addr, "crash-key")
	c.HTTP.Timeout = 5 * time.Second

	var (
		mu            sync.Mutex
		acked         = map[string]bool{}
		indeterminate = map[string]bool{}
		seq           atomic.Int64
	)
	rounds := 4
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range rounds {
		cmd := start()
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					id := fmt.Sprintf("crash-%d", seq.Add(1))
					_, err := c.SendEvent(ctx, client.Event{ID: id, Source: "crash", Type: "crash.test", Data: map[string]any{"round": round}})
					mu.Lock()
					if err == nil {
						acked[id] = true
					} else {
						indeterminate[id] = true
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(150+rnd.IntN(600)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		stop()
		wg.Wait()
	}
	phase := time.Now()
	t.Logf("load phase done: %d acked", len(acked))
	cmd := start()
	t.Logf("restart took %s", time.Since(phase))
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	ctx := context.Background()
	// An acknowledged event sent again is a duplicate of the stored one, whether the hub was
	// killed before or after it filed the event's dedup key from its journal (the restarted
	// hub's first pruning pass files what the crash left there; the storage tests cover a
	// journal read back at open before it is filed).
	for id := range acked {
		acc, err := c.SendEvent(ctx, client.Event{ID: id, Source: "crash", Type: "crash.test"})
		if err != nil {
			t.Fatalf("resending %s after restart: %v", id, err)
		}
		if !acc.Duplicate {
			t.Errorf("acknowledged event %s sent again after the crashes was stored again (seq %d)", id, acc.Seq)
		}
	}
	t.Logf("acknowledged events resent after %s", time.Since(phase))
	// A client that got no answer retries; the retry must not create a second event.
	retried, duplicates := 0, 0
	for id := range indeterminate {
		acc, err := c.SendEvent(ctx, client.Event{ID: id, Source: "crash", Type: "crash.test"})
		if err != nil {
			t.Fatalf("retry of %s after restart: %v", id, err)
		}
		retried++
		if acc.Duplicate {
			duplicates++
		}
	}
	t.Logf("retries done after %s", time.Since(phase))
	lost := 0
	deadline := time.Now().Add(60 * time.Second)
	for id := range acked {
		ev, err := c.GetEvent(ctx, id, "")
		if err != nil {
			lost++
			t.Errorf("event %s got a 2xx but is not stored: %v", id, err)
			continue
		}
		if len(ev.Runs) != 1 {
			t.Errorf("event %s has %d runs, want 1", id, len(ev.Runs))
			continue
		}
		for {
			run, err := c.Run(ctx, ev.Runs[0])
			if err == nil && run.Status == "succeeded" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s of event %s did not complete: %+v %v", ev.Runs[0], id, run, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("crash test: %d rounds, %d events acknowledged, %d lost, %d without an answer (retried: %d were already stored, %d new)",
		rounds, len(acked), lost, len(indeterminate), duplicates, retried-duplicates)
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged; the test proved nothing")
	}
	if lost != 0 {
		t.Fatalf("%d acknowledged events lost", lost)
	}
}

func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("hub at %s did not become ready", base)
}

// TestSIGTERMDrains checks that a hub asked to stop with runs queued and running exits
// cleanly within 30 s, and that after a restart every accepted event's run completes.
// (Interrupting a step that outlives the drain timeout is covered by core's
// TestDrainReturnsUnfinishedRunsToQueue.)
func TestSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := aquahubBinary(t)
	dir := t.TempDir()
	addr := freePort(t)
	rulesYAML := "rules:\n  - id: slow\n    on: slow.test\n    steps:\n      - id: note\n        log: { message: working, level: debug }\n      - id: child\n        emit: { type: slow.done }\n"
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("server: { addr: %q, shutdown_timeout: 5s }\nstorage: { path: %q }\nrules: { paths: [ %q ] }\nconnectors: { dir: %q }\ntenants:\n  - id: acme\n    api_keys: [ { key: drain-key, role: admin } ]\nlog: { level: warn }\n",
		addr, filepath.Join(dir, "aquahub.db"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "connectors"))
	cfgPath := filepath.Join(dir, "aquahub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, "http://"+addr)
	c := client.New("http://"+addr, "drain-key")
	for i := range 50 {
		if _, err := c.SendEvent(context.Background(), client.Event{ID: fmt.Sprint(i), Source: "t", Type: "slow.test"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hub exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("hub did not exit within 30 s of SIGTERM")
	}
	// Restart: every event's run completes; nothing was lost by the drain.
	cmd = exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	waitReady(t, "http://"+addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs, err := c.Runs(context.Background(), client.RunFilter{Rule: "slow", Status: "succeeded", Limit: 1000})
		if err == nil && len(runs) == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart %d of 50 runs succeeded (%v)", len(runs), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
