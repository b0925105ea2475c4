package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/spf13/cobra"
)

// storageFlags say where the data file is, as serve reads it: the configuration file,
// AQUAHUB_* variables and --data.
type storageFlags struct {
	config string
	data   string
}

func (f *storageFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "the hub's configuration file (YAML), for storage.path")
	cmd.Flags().StringVar(&f.data, "data", "", "data directory (overrides storage.path with DIR/aquahub.db)")
}

// path returns the data file's path.
func (f *storageFlags) path() (string, error) {
	sf := serveFlags{config: f.config, data: f.data}
	cfg, err := loadConfig(f.config, sf.overrides())
	if err != nil {
		return "", err
	}
	return cfg.Storage.Path, nil
}

func newBackupCmd() *cobra.Command {
	var f storageFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy the data file, consistently, while the hub serves (or while it is stopped)",
		Long: `Write a consistent copy of the data file to FILE. While a hub runs on the file, the copy
comes through the hub (its control socket, storage.path + ".sock", which only the file's
owner can use) from one read transaction, and the hub goes on serving; with no hub running,
the file is copied directly. The copy is checked the way ` + "`bbolt check`" + ` does before it
takes FILE's name. Restore by stopping the hub and putting the copy at storage.path.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := f.path()
			if err != nil {
				return err
			}
			return backup(cmd, data, args[0])
		},
	}
	f.register(cmd)
	return cmd
}

func backup(cmd *cobra.Command, data, dest string) error {
	if abs, _ := filepath.Abs(dest); abs == mustAbs(data) {
		return fmt.Errorf("backup: %s is the data file itself; give another path", dest)
	}
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		return fmt.Errorf("backup: %s is a directory; give a file name", dest)
	}
	tmp := dest + ".partial"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fail := func(err error) error {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("backup of %s: %w", data, err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	n, how, err := copyBackup(ctx, data, out)
	if err != nil {
		return fail(err)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		return fail(err)
	}
	if err := bolt.CheckFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup of %s: the copy failed its check and was deleted: %w", data, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "backed up %s to %s (%s, %s; checked)\n", data, dest, byteCount(n), how)
	return nil
}

func newCompactCmd() *cobra.Command {
	var f storageFlags
	var out string
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the data file, with the hub stopped, to give free space back to the filesystem",
		Long: `Rewrite the data file into a new one that holds only the pages in use, and put it in
place of the old one (or write it to --out and leave the data file as it is). The file never
shrinks by itself: pages freed by retention are reused before it grows, but not returned.
Stop the hub first; compact refuses a file a hub has open. It needs free disk space for the
data in use, and checks the new file before it replaces anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := f.path()
			if err != nil {
				return err
			}
			res, err := bolt.Compact(data, out)
			if errors.Is(err, bolt.ErrLocked) {
				return fmt.Errorf("compact: %w: stop the hub first (aquahub backup works while it runs)", err)
			}
			if err != nil {
				return fmt.Errorf("compact: %w", err)
			}
			dest := data
			if out != "" {
				dest = out
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compacted %s: %s → %s (%s)\n", data, byteCount(res.Before), byteCount(res.After), dest)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the compacted file here and leave the data file unchanged")
	return cmd
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

// byteCount prints n bytes for a person: 1.2 MiB.
func byteCount(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
