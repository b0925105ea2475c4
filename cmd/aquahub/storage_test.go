package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/sdk/client"
)

const logRule = `rules:
  - id: note
    on: soak.*
    steps:
      - id: note
        log: { message: "got ${{ event.id }}", level: debug }
`

// startTestHub runs a hub in this process on a free port with a temporary data directory
// and a rule with one log step; edit may change the configuration first.
func startTestHub(t *testing.T, edit func(*Config)) (*hub, *client.Client) {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(logRule), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.Path = filepath.Join(dir, "data", "aquahub.db")
	cfg.Rules.Paths = []string{rules}
	cfg.Connectors.Dir = filepath.Join(dir, "connectors")
	cfg.Tenants = []Tenant{{ID: "acme", TenantConfig: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: "test-key", Role: core.RoleAdmin}}}}}
	if edit != nil {
		edit(&cfg)
	}
	h, err := buildHub(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr, _, err := h.start(context.Background())
	if err != nil {
		h.close(context.Background())
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			h.shutdown()
		}
	})
	return h, client.New("http://"+addr.String(), "test-key")
}

// TestBackupWhileTheHubServes: `aquahub backup` copies the file through the running hub
// while clients post events; the copy passes the check and holds what was acknowledged
// before it began. With the hub stopped, backup reads the file and compact shrinks it;
// compact refuses a file a hub has open.
func TestBackupWhileTheHubServes(t *testing.T) {
	h, c := startTestHub(t, nil)
	data := h.cfg.Storage.Path
	dir := filepath.Dir(data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if _, err := c.SendEvent(ctx, client.Event{ID: fmt.Sprint("w", w, "-", i), Source: "test", Type: "soak.tick"}); err == nil {
					sent.Add(1)
				}
			}
		}()
	}
	for sent.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	before := sent.Load()
	dest := filepath.Join(t.TempDir(), "online.db")
	out, err := runAquahub(t, "backup", dest, "--data", dir)
	if err != nil {
		t.Fatalf("backup while serving: %v\n%s", err, out)
	}
	if !strings.Contains(out, "through the running hub") {
		t.Errorf("backup did not go through the running hub: %s", out)
	}
	out, err = runAquahub(t, "compact", "--data", dir)
	if err == nil || !strings.Contains(err.Error(), "stop the hub first") {
		t.Errorf("compact while the hub serves: %v %s, want it refused", err, out)
	}
	cancel()
	wg.Wait()
	if sent.Load() <= before {
		t.Error("no event was accepted while the backup was taken")
	}
	if err := bolt.CheckFile(dest); err != nil {
		t.Fatalf("the online backup: %v", err)
	}
	b, err := bolt.Open(bolt.Config{Path: dest})
	if err != nil {
		t.Fatal(err)
	}
	st := b.StorageStats()
	b.Close()
	if st.Events < before {
		t.Errorf("the backup holds %d events, but %d were acknowledged before it began", st.Events, before)
	}
	t.Logf("online backup: %d events while %d were acknowledged in all", st.Events, sent.Load())

	if err := h.shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(controlSocket(data)); !os.IsNotExist(err) {
		t.Errorf("the control socket outlived the hub: %v", err)
	}
	offline := filepath.Join(t.TempDir(), "offline.db")
	out, err = runAquahub(t, "backup", offline, "--data", dir)
	if err != nil || !strings.Contains(out, "no hub running") {
		t.Fatalf("backup of a stopped hub: %v\n%s", err, out)
	}
	if out, err := runAquahub(t, "backup", data, "--data", dir); err == nil {
		t.Fatalf("a backup over the data file itself was taken: %s", out)
	}
	out, err = runAquahub(t, "compact", "--data", dir)
	if err != nil || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %v\n%s", err, out)
	}
	if err := bolt.CheckFile(data); err != nil {
		t.Fatalf("after compact: %v", err)
	}
}

// TestMetricsShowTheFile: /metrics reports the data file's size and use, the bytes per
// event kept and what the pruner deleted, so an operator sees the file level off.
func TestMetricsShowTheFile(t *testing.T) {
	_, c := startTestHub(t, func(cfg *Config) {
		cfg.Storage.Retention, cfg.Storage.DedupWindow = time.Second, time.Second
		cfg.Storage.PruneInterval = 50 * time.Millisecond
	})
	ctx := context.Background()
	for i := range 20 {
		if _, err := c.SendEvent(ctx, client.Event{ID: fmt.Sprint("m-", i), Source: "test", Type: "soak.tick"}); err != nil {
			t.Fatal(err)
		}
	}
	scrape := func() map[string]float64 {
		t.Helper()
		resp, err := http.Get(c.BaseURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
		}
		got := map[string]float64{}
		for _, line := range strings.Split(string(body), "\n") {
			name, value, ok := strings.Cut(line, " ")
			if !ok || strings.HasPrefix(line, "#") || !strings.HasPrefix(name, "aquahub_") {
				continue
			}
			if v, err := strconv.ParseFloat(value, 64); err == nil {
				got[name] = v
			}
		}
		return got
	}
	m := scrape()
	for _, name := range []string{"aquahub_storage_file_bytes", "aquahub_storage_used_bytes", "aquahub_storage_events", "aquahub_storage_bytes_per_event"} {
		if m[name] <= 0 {
			t.Errorf("%s = %v with 20 events stored, want > 0", name, m[name])
		}
	}
	if m["aquahub_storage_used_bytes"] > m["aquahub_storage_file_bytes"] {
		t.Errorf("more bytes in use (%v) than the file holds (%v)", m["aquahub_storage_used_bytes"], m["aquahub_storage_file_bytes"])
	}
	// Past the one-second retention the pruner deletes the events and their runs.
	deadline := time.Now().Add(30 * time.Second)
	for m[`aquahub_pruned_total{kind="events"}`] < 20 || m[`aquahub_pruned_total{kind="runs"}`] < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the pruner did not report the 20 events and runs within 30s: %v", m)
		}
		time.Sleep(100 * time.Millisecond)
		m = scrape()
	}
	if m["aquahub_storage_events"] != 0 || m["aquahub_storage_bytes_per_event"] != 0 {
		t.Errorf("after pruning: %v events kept, %v bytes per event; want 0 and 0", m["aquahub_storage_events"], m["aquahub_storage_bytes_per_event"])
	}
	if m["aquahub_prune_last_run_timestamp_seconds"] <= 0 || m["aquahub_prune_errors_total"] != 0 {
		t.Errorf("pruner progress: last run %v, errors %v", m["aquahub_prune_last_run_timestamp_seconds"], m["aquahub_prune_errors_total"])
	}
	// The pruned events' dedup keys were filed from the journal first.
	if v, ok := m["aquahub_storage_dedup_journal_keys"]; !ok || v != 0 || m["aquahub_storage_dedup_file_errors_total"] != 0 {
		t.Errorf("dedup journal after pruning: %v keys (reported: %v), %v filing errors; want 0 keys, 0 errors", v, ok, m["aquahub_storage_dedup_file_errors_total"])
	}
}
