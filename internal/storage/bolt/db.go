package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aquascene/aquahub/core"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FormatVersion is the layout of the records this package writes. A file stamped with
// another version is refused at open rather than misread.
const FormatVersion = 3

// Config is where state lives: the `storage` section of the configuration.
type Config struct {
	// Path is the bbolt file (default ./data/aquahub.db).
	Path string `koanf:"path"`
	// MaxBatchSize is how many concurrent writes share one commit (default 64). Set it near
	// the number of concurrent writers: a batch that never fills waits MaxBatchDelay.
	MaxBatchSize int `koanf:"max_batch_size"`
	// MaxBatchDelay is how long a write waits for others to share its commit (default 2ms).
	// Longer raises throughput under load and latency when idle.
	MaxBatchDelay time.Duration `koanf:"max_batch_delay"`
}

// DefaultConfig returns the storage defaults.
func DefaultConfig() Config {
	return Config{Path: "./data/aquahub.db", MaxBatchSize: 64, MaxBatchDelay: 2 * time.Millisecond}
}

// Validate checks the settings; errors name the field.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, core.Invalid("path", "required"))
	}
	if c.MaxBatchSize < 1 || c.MaxBatchSize > 10000 {
		errs = append(errs, core.Invalid("max_batch_size", "must be between 1 and 10000 (got %d)", c.MaxBatchSize))
	}
	if c.MaxBatchDelay < 0 || c.MaxBatchDelay > time.Second {
		errs = append(errs, core.Invalid("max_batch_delay", "must be between 0 and 1s (got %s)", c.MaxBatchDelay))
	}
	return errors.Join(errs...)
}

// lockTimeout bounds the wait for the file lock; a variable so tests can shorten it.
var lockTimeout = defaultLockTimeout

const (
	// defaultLockTimeout bounds the wait for the file lock held by another process (bbolt's own
	// default waits forever).
	defaultLockTimeout = 5 * time.Second
	// initialMmapSize reserves address space so growth does not remap under readers.
	initialMmapSize = 256 << 20
)

// DB is the hub's one bbolt file. Every feature's store is a view of it, so one file is one
// backup, one lock and one fsync domain.
type DB struct {
	db       *bbolt.DB
	path     string
	pipeline *Pipeline
}

var (
	bucketMeta   = []byte("aquahub.meta")
	keyFormatVer = []byte("format_version")
)

// Open opens or creates the file at cfg.Path, creating its directory. Zero fields of cfg take
// DefaultConfig's values.
func Open(cfg Config) (*DB, error) {
	def := DefaultConfig()
	if cfg.Path == "" {
		cfg.Path = def.Path
	}
	if cfg.MaxBatchSize <= 0 {
		cfg.MaxBatchSize = def.MaxBatchSize
	}
	if cfg.MaxBatchDelay <= 0 {
		cfg.MaxBatchDelay = def.MaxBatchDelay
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	db, err := bbolt.Open(cfg.Path, 0o600, &bbolt.Options{Timeout: lockTimeout, InitialMmapSize: initialMmapSize, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: the file is locked by another process (is another aquahub running?)", cfg.Path)
		}
		return nil, fmt.Errorf("opening %s: %w", cfg.Path, err)
	}
	db.MaxBatchSize = cfg.MaxBatchSize
	db.MaxBatchDelay = cfg.MaxBatchDelay
	d := &DB{db: db, path: cfg.Path}
	d.pipeline = &Pipeline{db: db}
	if err := d.init(); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// init checks the file's format version, stamping a new file and migrating an older
// version, and creates every bucket.
func (d *DB) init() error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("initialising %s: %w", d.path, err)
		}
		// A file without a stamp is new, or was written before stamping began in version 1's
		// layout.
		version := 1
		if v := meta.Get(keyFormatVer); v != nil {
			if version, err = strconv.Atoi(string(v)); err != nil || version < 1 || version > FormatVersion {
				return fmt.Errorf("opening %s: the file has format version %q and this aquahub reads versions 1 to %d; use the aquahub release that wrote it, or restore a backup", d.path, v, FormatVersion)
			}
		}
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("initialising %s: bucket %s: %w", d.path, b, err)
			}
		}
		if version < 2 {
			if err := migrateQueueV1(tx); err != nil {
				return fmt.Errorf("opening %s: migrating the queue to format version 2: %w", d.path, err)
			}
		}
		if version < 3 {
			if err := migrateWebhookDueV2(tx); err != nil {
				return fmt.Errorf("opening %s: migrating the webhook queues to format version 3: %w", d.path, err)
			}
		}
		return meta.Put(keyFormatVer, []byte(strconv.Itoa(FormatVersion)))
	})
}

// migrateQueueV1 refiles version 1's queue (be64(due) tenant\0 run id) under version 2's
// keys (tenant\0 be64(due) lane\0 run id, lane unknown).
func migrateQueueV1(tx *bbolt.Tx) error {
	old := tx.Bucket(bucketQueueV1)
	if old == nil {
		return nil
	}
	q := tx.Bucket(bucketQueue)
	err := old.ForEach(func(k, _ []byte) error {
		if len(k) < 8 {
			return nil
		}
		tenant, id, ok := splitKey(k[8:])
		if !ok {
			return nil
		}
		due := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
		return q.Put(queueKey(due, &core.Run{Tenant: tenant, ID: id}), nil)
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketQueueV1)
}

// allBuckets lists every bucket of every store, created at open.
var allBuckets = [][]byte{
	bucketEvents, bucketEventIDs, bucketIdem, bucketRuns, bucketQueue, bucketLeases, bucketLedger, bucketDLQ,
	bucketConnectorKV,
	bucketWebhookEndpoints, bucketWebhookDeliveries, bucketWebhookQueue, bucketWebhookReady, bucketWebhookHeads, bucketWebhookMeta, bucketWebhookStepKeys,
	bucketInboundSeen, bucketInboundCursors,
	bucketContentItems, bucketContentTemplates, bucketContentBatches, bucketContentIdem, bucketContentUsage, bucketContentPending, bucketContentOutbox,
	bucketAnalyticsTargets, bucketAnalyticsObservations,
	bucketPartners, bucketPartnerAttributions,
}

// Path is the file's path.
func (d *DB) Path() string { return d.path }

// Ping reports whether the file can be read, for readiness checks.
func (d *DB) Ping() error { return d.db.View(func(*bbolt.Tx) error { return nil }) }

// Check verifies the file's consistency the way `bbolt check` does.
func (d *DB) Check() error {
	return d.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}

// Close closes the file.
func (d *DB) Close() error { return d.db.Close() }
