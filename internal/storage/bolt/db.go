package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aquascene/aquahub/core"
	"runtime/debug"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FormatVersion is the layout of the records this package writes. A file stamped with
// another version is refused at open rather than misread; an older one is migrated.
//
//   - 1: JSON records, queue keys be64(due) tenant\0 run id.
//   - 2: queue keys tenant\0 lane\0 be64(due) run id.
//   - 3: webhook messages wait in a queue per endpoint, with a ready index of the endpoints'
//     earliest due times (webhooks.go).
//   - 4: binary pipeline records (records.go); the pruner's buckets (prune.go); webhook
//     messages name the step key that queued them.
//   - 5: webhook endpoint secrets are sealed (core.SecretBox), tenants' data keys are kept in
//     secrets.datakeys, and the identity buckets exist.
//   - 6: new dedup keys wait in the journal eventids.new until they are filed in eventids
//     (dedup.go); an older release would not look there.
const FormatVersion = 6

// Config is where state lives: the `storage` section of the configuration.
type Config struct {
	// Path is the bbolt file (default ./data/aquahub.db).
	Path string `koanf:"path"`
	// MaxBatchSize is the most writes one commit holds (default 1000). Writes that arrive
	// while a commit runs share the next one, so under load a commit holds as many writes as
	// its duration brings, up to this.
	MaxBatchSize int `koanf:"max_batch_size"`
	// MaxBatchDelay is how long the first write to an idle file waits for others before it
	// commits (default 0: at once). Writes never wait for a delay under load.
	MaxBatchDelay time.Duration `koanf:"max_batch_delay"`
	// Retention is how long a succeeded run and its ledger are kept after it finished, and an
	// event after it was received once no kept run needs it; finished webhook messages are
	// kept this long after their last attempt (default 168h, seven days; at least 1s). Dead
	// runs stay in the dead-letter queue until replayed or discarded, whatever their age.
	Retention time.Duration `koanf:"retention"`
	// DedupWindow is how long an event's (tenant, source, id) and a request's
	// Idempotency-Key are remembered after they were first seen: a repeat within it stores
	// nothing and gets the first answer (default 168h; at least Retention, since a kept event
	// keeps its key).
	DedupWindow time.Duration `koanf:"dedup_window"`
	// PruneInterval is the pause between two pruning passes (default 1m). A pass deletes in
	// transactions of PruneBatch items and yields the file to other writers between them.
	PruneInterval time.Duration `koanf:"prune_interval"`
	// PruneBatch is how many items one pruning transaction looks at (default 256). Smaller
	// holds the write lock for less time per transaction.
	PruneBatch int `koanf:"prune_batch"`
}

// DefaultConfig returns the storage defaults.
func DefaultConfig() Config {
	return Config{
		Path: "./data/aquahub.db", MaxBatchSize: 1000,
		Retention: 7 * 24 * time.Hour, DedupWindow: 7 * 24 * time.Hour, PruneInterval: time.Minute, PruneBatch: 256,
	}
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
	if c.Retention < time.Second {
		errs = append(errs, core.Invalid("retention", "must be at least 1s (got %s)", c.Retention))
	}
	if c.DedupWindow < c.Retention {
		errs = append(errs, core.Invalid("dedup_window", "must be at least retention, %s (got %s): a kept event keeps its dedup key", c.Retention, c.DedupWindow))
	}
	if c.PruneInterval < 10*time.Millisecond || c.PruneInterval > 24*time.Hour {
		errs = append(errs, core.Invalid("prune_interval", "must be between 10ms and 24h (got %s)", c.PruneInterval))
	}
	if c.PruneBatch < 1 || c.PruneBatch > 100000 {
		errs = append(errs, core.Invalid("prune_batch", "must be between 1 and 100000 (got %d)", c.PruneBatch))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.Path == "" {
		c.Path = def.Path
	}
	if c.MaxBatchSize <= 0 {
		c.MaxBatchSize = def.MaxBatchSize
	}
	if c.MaxBatchDelay <= 0 {
		c.MaxBatchDelay = def.MaxBatchDelay
	}
	if c.Retention <= 0 {
		c.Retention = def.Retention
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = max(def.DedupWindow, c.Retention)
	}
	if c.PruneInterval <= 0 {
		c.PruneInterval = def.PruneInterval
	}
	if c.PruneBatch <= 0 {
		c.PruneBatch = def.PruneBatch
	}
	return c
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

// Options are what a DB needs besides its Config.
type Options struct {
	// Secrets seals the secret fields of records (webhook endpoint secrets, tenants'
	// connector secrets and source keys). Without it a store refuses to write a secret and
	// cannot read one, and a file of format version 4 or older holding webhook secrets
	// cannot be opened, since moving to version 5 seals them.
	Secrets core.SecretBox
	// Log receives a warning when filing the dedup journal starts to fail and a line when it
	// works again; nil discards them. (The pruner has a logger of its own: DB.Pruner.)
	Log *slog.Logger
}

// DB is the hub's one bbolt file. Every feature's store is a view of it, so one file is one
// backup, one lock and one fsync domain.
type DB struct {
	db       handle
	path     string
	cfg      Config
	pipeline *Pipeline
	pruner   *Pruner
	filer    *filer
	box      core.SecretBox
}

var (
	bucketMeta   = []byte("aquahub.meta")
	keyFormatVer = []byte("format_version")
)

// options are the bbolt options of the hub's file. The freelist is not written at each
// commit (NoFreelistSync): pruning frees many pages, and writing their list with every
// commit would cost more than rebuilding it at open, which also walks every page and so
// finds a damaged file before the hub serves. NoSync stays off: every commit is on disk.
func options(readOnly bool) *bbolt.Options {
	return &bbolt.Options{
		Timeout: lockTimeout, InitialMmapSize: initialMmapSize, FreelistType: bbolt.FreelistMapType,
		NoFreelistSync: true, ReadOnly: readOnly,
	}
}

// Open opens or creates the file at cfg.Path, creating its directory, and migrates a file of
// an older format version. Zero fields of cfg take DefaultConfig's values. A file that is
// not a complete aquahub database is refused with an error naming it; Open never replaces
// one.
func Open(cfg Config) (*DB, error) { return OpenWith(cfg, Options{}) }

// OpenWith is Open with options.
func OpenWith(cfg Config, opts Options) (*DB, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	db, err := openFile(cfg.Path, false)
	if err != nil {
		return nil, err
	}
	h := newHandle(db, cfg)
	d := &DB{db: h, path: cfg.Path, cfg: cfg, box: opts.Secrets}
	d.pipeline = &Pipeline{db: h}
	d.pruner = newPruner(d)
	version, err := d.init()
	if err == nil && version < 4 {
		err = d.migrateToV4()
	}
	if err == nil && version < 5 {
		err = d.migrateToV5()
	}
	if err == nil && version < 6 {
		err = d.migrateToV6()
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	d.filer = startFiler(d, opts.Log)
	h.idx.wake() // file what the last process left in the journal
	return d, nil
}

// openFile opens the bbolt file at path after checking that it is one (preflight), and
// turns bbolt's failures on a damaged file, panics included, into an error that names the
// file and the way forward.
func openFile(path string, readOnly bool) (db *bbolt.DB, err error) {
	if err := preflight(path); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, damaged(path, fmt.Errorf("%v", r))
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	for {
		db, err = bbolt.Open(path, 0o600, options(readOnly))
		if err != nil {
			switch {
			case errors.Is(err, berrors.ErrTimeout):
				return nil, fmt.Errorf("opening %s: %w", path, ErrLocked)
			case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
				return nil, damaged(path, err)
			}
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
		// aquahub compact renames a new file over the path while it holds the old one's lock;
		// an opener that waited for that lock holds a file no longer at the path, and opens
		// again.
		if same, err := sameFile(db.Path(), path); err != nil || same {
			return db, err
		}
		db.Close()
	}
}

// sameFile reports whether the file open as dbPath is still the one at path.
func sameFile(dbPath, path string) (bool, error) {
	a, err := os.Stat(dbPath)
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", path, err)
	}
	b, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", path, err)
	}
	return os.SameFile(a, b), nil
}

// init checks the file's format version, stamping a new file and migrating version 1's
// queue, and creates every bucket. It returns the version the file had.
func (d *DB) init() (int, error) {
	version := 0
	err := d.db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("initialising %s: %w", d.path, err)
		}
		// A file without a stamp is new (and is stamped below), or was written before stamping
		// began in version 1's layout.
		version = 1
		if tx.Bucket(bucketEvents) == nil {
			version = FormatVersion
		}
		if v := meta.Get(keyFormatVer); v != nil {
			if version, err = strconv.Atoi(string(v)); err != nil || version < 1 || version > FormatVersion {
				return fmt.Errorf("opening %s: the file has format version %q and this aquahub reads versions 1 to %d; use the aquahub release that wrote it, or restore a backup", d.path, v, FormatVersion)
			}
		}
		// The kv totals came after the values: a file without them counts them once.
		countKV := tx.Bucket(bucketConnectorKVUsage) == nil
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("initialising %s: bucket %s: %w", d.path, b, err)
			}
		}
		if countKV {
			if err := countKVUsage(tx); err != nil {
				return fmt.Errorf("opening %s: counting connector kv usage: %w", d.path, err)
			}
		}
		if version < 2 {
			if err := migrateQueueV1(tx); err != nil {
				return fmt.Errorf("opening %s: migrating the queue to format version 2: %w", d.path, err)
			}
			if err := meta.Put(keyFormatVer, []byte("2")); err != nil {
				return err
			}
		}
		if version < 3 {
			if err := migrateWebhookDueV2(tx); err != nil {
				return fmt.Errorf("opening %s: migrating the webhook queues to format version 3: %w", d.path, err)
			}
			if err := meta.Put(keyFormatVer, []byte("3")); err != nil {
				return err
			}
		}
		if version == FormatVersion {
			return meta.Put(keyFormatVer, []byte(strconv.Itoa(FormatVersion)))
		}
		return nil
	})
	return version, err
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
	bucketEvents, bucketEventIDs, bucketEventIDsNew, bucketIdem, bucketRuns, bucketQueue, bucketLeases, bucketLedger, bucketDLQ,
	bucketConnectorKV, bucketConnectorKVUsage,
	bucketWebhookEndpoints, bucketWebhookDeliveries, bucketWebhookQueue, bucketWebhookReady, bucketWebhookHeads, bucketWebhookMeta, bucketWebhookStepKeys,
	bucketInboundSeen, bucketInboundCursors,
	bucketDataKeys, bucketIdentityKeys, bucketIdentityTenants, bucketIdentityAudit, bucketIdentityAuditTenant, bucketIdentityCounters,
	bucketContentItems, bucketContentTemplates, bucketContentBatches, bucketContentIdem, bucketContentUsage, bucketContentDaily, bucketContentPending, bucketContentOutbox,
	bucketAnalyticsTargets, bucketAnalyticsObservations,
	bucketPartners, bucketPartnerAttributions,
	bucketPrune, bucketRunsLate, bucketIdemTimes,
}

// Path is the file's path.
func (d *DB) Path() string { return d.path }

// Ping reports whether the file can be read, for readiness checks.
func (d *DB) Ping() error { return d.db.View(func(*bbolt.Tx) error { return nil }) }

// Check verifies the file's consistency the way `bbolt check` does. bbolt's check compares
// the transaction's pages with the file's live list of free pages, so a commit between the
// two would show pages that commit freed as both reachable and free. On a file open for
// writing the check therefore runs in a write transaction, which holds commits off, and
// rolls it back.
func (d *DB) Check() error {
	check := func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}
	if d.db.IsReadOnly() {
		return d.db.View(check)
	}
	err := d.db.Update(func(tx *bbolt.Tx) error {
		if err := check(tx); err != nil {
			return err
		}
		return errUnchanged
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// Close stops the dedup journal's filer and closes the file.
func (d *DB) Close() error {
	if d.filer != nil {
		d.filer.close()
		d.filer = nil
	}
	return d.db.Close()
}
