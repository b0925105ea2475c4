package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// TestFullDiskRefusesThenResumes runs in a child process with a file-size limit standing in
// for a full disk: accepting events fails with core.ErrUnavailable naming the full disk,
// stores nothing, and works again once there is room.
func TestFullDiskRefusesThenResumes(t *testing.T) {
	if os.Getenv("AQUAHUB_DISKFULL_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFullDiskRefusesThenResumes$", "-test.v")
		cmd.Env = append(os.Environ(), "AQUAHUB_DISKFULL_CHILD="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "resumed after") {
			t.Fatalf("child did not reach the end:\n%s", out)
		}
		t.Logf("%s", out)
		return
	}
	dir := os.Getenv("AQUAHUB_DISKFULL_CHILD")
	path := filepath.Join(dir, "aquahub.db")
	db, err := bolt.Open(bolt.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := db.Pipeline()
	ctx := context.Background()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("no file size limit here: %v", err)
	}
	full := syscall.Rlimit{Cur: uint64(info.Size()), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Skipf("cannot set a file size limit here: %v", err)
	}
	big := strings.Repeat("a", 64<<10)
	var refused error
	accepted := 0
	for i := range 2000 {
		_, err := st.Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
			Event: core.Event{ID: fmt.Sprint(i), Source: "s", Type: "t", SpecVersion: "1.0", Data: []byte(fmt.Sprintf("%q", big))}, RuleIDs: []string{"r"}}}})
		if err != nil {
			refused = err
			break
		}
		accepted++
	}
	if refused == nil {
		t.Fatal("the file size limit never refused a write")
	}
	if !errors.Is(refused, core.ErrUnavailable) || !strings.Contains(refused.Error(), "disk is full") {
		t.Fatalf("a full disk gave %v, want core.ErrUnavailable saying the disk is full", refused)
	}
	if stats, _ := st.Stats(ctx); stats.Events != accepted {
		t.Fatalf("the refused event was stored: %d events, %d accepted", stats.Events, accepted)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
		Event: core.Event{ID: "after", Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}}); err != nil {
		t.Fatalf("after room returned: %v", err)
	}
	// The refused event was not stored, so sending it again stores it; an accepted one is a
	// duplicate.
	for _, c := range []struct {
		id  string
		dup bool
	}{{fmt.Sprint(accepted), false}, {"0", true}} {
		res, err := st.Accept(ctx, core.AcceptRequest{Tenant: "acme", Events: []core.Pending{{
			Event: core.Event{ID: c.id, Source: "s", Type: "t", SpecVersion: "1.0"}, RuleIDs: []string{"r"}}}})
		if err != nil || res.Events[0].Duplicate != c.dup {
			t.Fatalf("event %s sent again after room returned: %+v, %v; want duplicate %v", c.id, res, err, c.dup)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatalf("database check after a full disk: %v", err)
	}
	fmt.Printf("refused after %d events with: %v; resumed after the limit was lifted\n", accepted, refused)
}
