package plugins

import (
	"bytes"

	"go.etcd.io/bbolt"
)

// kvBucket holds connector kv values under tenant \x00 connector \x00 key.
var kvBucket = []byte("plugins.kv")

func kvKey(tenant, connector string, key []byte) []byte {
	k := make([]byte, 0, len(tenant)+len(connector)+len(key)+2)
	k = append(k, tenant...)
	k = append(k, 0)
	k = append(k, connector...)
	k = append(k, 0)
	return append(k, key...)
}

func (c *Catalog) kvGet(tenant, connector string, key []byte) ([]byte, bool, error) {
	var out []byte
	err := c.opts.DB.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(kvBucket)
		if b == nil {
			return nil
		}
		if v := b.Get(kvKey(tenant, connector, key)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	return out, out != nil, err
}

// kvSet stores value; an empty value deletes the key.
func (c *Catalog) kvSet(tenant, connector string, key, value []byte) error {
	k := kvKey(tenant, connector, key)
	v := bytes.Clone(value)
	return c.opts.DB.Batch(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(kvBucket)
		if err != nil {
			return err
		}
		if len(v) == 0 {
			return b.Delete(k)
		}
		return b.Put(k, v)
	})
}
