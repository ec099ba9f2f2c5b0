//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/hack-pad/go-indexeddb/idb"
)

// The IndexedDB layout of the weight cache. Both stores are keyed by
// modelEntry.cacheKey ("name@sha256"). Listing reads only the small
// entries store, never the weights.
const (
	cacheDBName    = "resnet-weights"
	cacheDBVersion = 1
	filesStore     = "files"   // key -> Uint8Array of the weights file
	entriesStore   = "entries" // key -> {name, sha256, bytes, storedAt}
)

// weightCache stores verified weights files in IndexedDB.
type weightCache struct {
	db *idb.Database
}

// cachedFile describes one stored weights file.
type cachedFile struct {
	key, name, sha256 string
	bytes             int
	storedAt          float64 // milliseconds since the Unix epoch
}

func openWeightCache(ctx context.Context) (*weightCache, error) {
	global := js.Global().Get("indexedDB")
	if !global.Truthy() {
		return nil, errors.New("this browser offers no IndexedDB here")
	}
	factory, err := idb.WrapFactory(global)
	if err != nil {
		return nil, err
	}
	req, err := factory.Open(ctx, cacheDBName, cacheDBVersion, func(db *idb.Database, oldVersion, _ uint) error {
		if oldVersion >= 1 {
			return nil
		}
		if _, err := db.CreateObjectStore(filesStore, idb.ObjectStoreOptions{}); err != nil {
			return err
		}
		_, err := db.CreateObjectStore(entriesStore, idb.ObjectStoreOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	db, err := req.Await(ctx)
	if err != nil {
		return nil, err
	}
	return &weightCache{db: db}, nil
}

// get returns what is stored for key (a Uint8Array unless damaged), or
// ok false if there is nothing.
func (c *weightCache) get(ctx context.Context, key string) (file js.Value, ok bool, err error) {
	txn, err := c.db.Transaction(idb.TransactionReadOnly, filesStore)
	if err != nil {
		return js.Value{}, false, err
	}
	store, err := txn.ObjectStore(filesStore)
	if err != nil {
		return js.Value{}, false, err
	}
	req, err := store.Get(js.ValueOf(key))
	if err != nil {
		return js.Value{}, false, err
	}
	v, err := req.Await(ctx)
	if err != nil || v.IsUndefined() {
		return js.Value{}, false, err
	}
	return v, true, nil
}

// put stores a verified file for e, after deleting the other versions of
// the same model (in their own transaction, so that they are gone even if
// the new file then exceeds the quota).
func (c *weightCache) put(ctx context.Context, e *modelEntry, file js.Value) error {
	files, err := c.list(ctx)
	if err != nil {
		return err
	}
	var stale []string
	for _, f := range files {
		if f.name == e.name && f.key != e.cacheKey() {
			stale = append(stale, f.key)
		}
	}
	if err := c.delete(ctx, stale...); err != nil {
		return err
	}
	return c.write(ctx, func(fs, es *idb.ObjectStore) error {
		key := js.ValueOf(e.cacheKey())
		if _, err := fs.PutKey(key, file); err != nil {
			return err
		}
		meta := js.ValueOf(map[string]any{"name": e.name, "sha256": e.sha256, "bytes": e.bytes, "storedAt": float64(time.Now().UnixMilli())})
		_, err := es.PutKey(key, meta)
		return err
	})
}

// delete removes the files stored under keys.
func (c *weightCache) delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return c.write(ctx, func(fs, es *idb.ObjectStore) error {
		for _, k := range keys {
			if _, err := fs.Delete(js.ValueOf(k)); err != nil {
				return err
			}
			if _, err := es.Delete(js.ValueOf(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// clear removes every stored file.
func (c *weightCache) clear(ctx context.Context) error {
	return c.write(ctx, func(fs, es *idb.ObjectStore) error {
		if _, err := fs.Clear(); err != nil {
			return err
		}
		_, err := es.Clear()
		return err
	})
}

// write runs requests in one read-write transaction over both stores and
// waits until it commits.
func (c *weightCache) write(ctx context.Context, requests func(files, entries *idb.ObjectStore) error) error {
	txn, err := c.db.Transaction(idb.TransactionReadWrite, filesStore, entriesStore)
	if err != nil {
		return err
	}
	fs, err := txn.ObjectStore(filesStore)
	if err != nil {
		return err
	}
	es, err := txn.ObjectStore(entriesStore)
	if err != nil {
		return err
	}
	if err := requests(fs, es); err != nil {
		txn.Abort()
		return err
	}
	return txn.Await(ctx)
}

// list describes every stored file, without reading the files.
func (c *weightCache) list(ctx context.Context) ([]cachedFile, error) {
	txn, err := c.db.Transaction(idb.TransactionReadOnly, entriesStore)
	if err != nil {
		return nil, err
	}
	store, err := txn.ObjectStore(entriesStore)
	if err != nil {
		return nil, err
	}
	cursor, err := store.OpenCursor(idb.CursorNext)
	if err != nil {
		return nil, err
	}
	var out []cachedFile
	err = cursor.Iter(ctx, func(c *idb.CursorWithValue) error {
		key, err := c.Key()
		if err != nil {
			return err
		}
		v, err := c.Value()
		if err != nil {
			return err
		}
		f := fields{obj: v}
		out = append(out, cachedFile{
			key: key.String(), name: f.str("name"), sha256: f.str("sha256"),
			bytes: f.integer("bytes", 0, maxWeightBytes), storedAt: float64(f.integer("storedAt", 0, 1<<53)),
		})
		return f.err
	})
	return out, err
}

// isQuotaError reports whether err means the storage quota is used up.
func isQuotaError(err error) bool {
	return errors.Is(err, idb.NewDOMException("QuotaExceededError"))
}
