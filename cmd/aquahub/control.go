package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// The control socket is where a running hub answers the local commands that need it:
// `aquahub backup` copies the file through it while the hub serves. It is a Unix socket
// beside the data file, readable and writable by the file's owner only, so whoever may use
// it may read the file anyway: it needs no credential of its own, and no tenant's API key
// reaches it (a backup holds every tenant's data).

// controlSocket is the socket of the hub whose data file is dataPath.
func controlSocket(dataPath string) string { return dataPath + ".sock" }

// maxSocketPath is the longest path a Unix socket may have on Linux and macOS, less the
// terminating zero.
const maxSocketPath = 103

// control serves the control socket.
type control struct {
	srv  *http.Server
	path string
}

// startControl listens on the control socket of the file db holds. A socket file left by a
// hub that was killed is replaced: this process holds the data file's lock, so no other hub
// serves it.
func startControl(db *bolt.DB, dataPath string, log *slog.Logger) (*control, error) {
	path := controlSocket(dataPath)
	if len(path) > maxSocketPath {
		log.Warn("the control socket's path is too long for a Unix socket; aquahub backup will not reach this hub while it runs", "path", path)
		return nil, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		n, err := db.Backup(w)
		if err != nil {
			log.Warn("backup through the control socket failed", "after_bytes", n, "err", err)
			// Abort the response, so the client sees an error rather than a short file.
			panic(http.ErrAbortHandler)
		}
		log.Info("backup taken through the control socket", "bytes", n)
	})
	c := &control{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}, path: path}
	go c.srv.Serve(ln)
	return c, nil
}

// Close stops the socket and removes its file.
func (c *control) Close() error {
	if c == nil {
		return nil
	}
	err := c.srv.Close()
	os.Remove(c.path)
	return err
}

// copyBackup writes a consistent copy of the data file at dataPath to w: through the running
// hub's control socket when one answers, or from the file itself when no hub runs. It says
// which.
func copyBackup(ctx context.Context, dataPath string, w io.Writer) (int64, string, error) {
	sock := controlSocket(dataPath)
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://aquahub/backup", nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			return 0, "", fmt.Errorf("asking the running hub on %s: %w", sock, err)
		}
		n, err := bolt.BackupFile(dataPath, w)
		if err != nil && errors.Is(err, bolt.ErrLocked) {
			err = fmt.Errorf("%w; a hub has the file open but does not answer on its control socket %s", err, sock)
		}
		return n, "from the file (no hub running)", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, "", fmt.Errorf("the running hub answered %s: %s", resp.Status, msg)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, "", fmt.Errorf("copying the backup from the running hub: %w", err)
	}
	return n, "through the running hub", nil
}
