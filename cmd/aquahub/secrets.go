package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/spf13/cobra"
)

func newSecretsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "The master key that seals secrets at rest"}
	newKey := &cobra.Command{
		Use:   "new-master-key",
		Short: "Print a fresh master key (32 random bytes, base64)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), secrets.NewMasterKey())
			return nil
		},
	}
	var configPath, newKeyFile string
	rotate := &cobra.Command{
		Use:   "rotate-master-key --config F --new-key-file NEW",
		Short: "Rewrap every tenant's data key with a new master key (the hub must be stopped)",
		Long: `Rewrap every tenant's data key, in one transaction, from the master key the configuration
names (secrets.master_key, secrets.master_key_file, or master.key beside the data file) to the key
in --new-key-file. Sealed values are not touched. Stop the hub first (the data file is locked while
it runs); afterwards point secrets.master_key or secrets.master_key_file at the new key and start
the hub. Keep the old key until the hub has started with the new one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath, nil)
			if err != nil {
				return err
			}
			oldKey, _, err := secrets.LoadMasterKey(cfg.Secrets, filepath.Join(filepath.Dir(cfg.Storage.Path), "master.key"))
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(newKeyFile)
			if err != nil {
				return fmt.Errorf("--new-key-file: %w", err)
			}
			nk, err := secrets.ParseMasterKey(string(raw))
			if err != nil {
				return fmt.Errorf("--new-key-file %s: %w", newKeyFile, err)
			}
			oldVault, err := secrets.NewVault(oldKey)
			if err != nil {
				return err
			}
			newVault, err := secrets.NewVault(nk)
			if err != nil {
				return err
			}
			if oldVault.KeyID() == newVault.KeyID() {
				return fmt.Errorf("the new master key is the current one")
			}
			db, err := bolt.OpenWith(cfg.Storage, bolt.Options{Secrets: oldVault})
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := db.RewrapDataKeys(func(tenant string, wrapped []byte) ([]byte, error) {
				return secrets.RewrapDataKey(oldVault, newVault, tenant, wrapped)
			})
			if err != nil {
				return fmt.Errorf("rotating: nothing was changed: %w", err)
			}
			user := os.Getenv("USER")
			_, _ = db.Identity().AppendAudit(cmd.Context(), core.AuditEntry{Time: time.Now(), Actor: "cli:" + user, Action: "secrets.master_key_rotated",
				Outcome: "ok", Detail: fmt.Sprintf("%d data keys rewrapped from master key %s to %s", n, oldVault.KeyID(), newVault.KeyID())})
			fmt.Fprintf(cmd.OutOrStdout(), "rewrapped %d data keys from master key %s to %s\nnow set secrets.master_key_file: %s (or secrets.master_key) and start the hub\n",
				n, oldVault.KeyID(), newVault.KeyID(), newKeyFile)
			return nil
		},
	}
	rotate.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (YAML), as serve reads it")
	rotate.Flags().StringVar(&newKeyFile, "new-key-file", "", "file holding the new master key (`aquahub secrets new-master-key > new.key`)")
	_ = rotate.MarkFlagRequired("new-key-file")
	cmd.AddCommand(newKey, rotate)
	return cmd
}
