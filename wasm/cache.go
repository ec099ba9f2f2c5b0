//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"github.com/hack-pad/go-indexeddb/idb"

	"github.com/inbrowser/resnet/wasm/jsutil"
)

// The IndexedDB layout of the weight cache. The files and entries stores
// are keyed by modelEntry.cacheKey ("name@sha256"); listing reads only the
// small entries store, never the weights. Version 2 added the models store:
// the models a person added from their own checkpoint files, keyed by name,
// whose only copy of the weights is the one in files.
const (
	cacheDBName    = "resnet-weights"
	cacheDBVersion = 2
	filesStore     = "files"   // key -> Blob of the weights file (see put)
	entriesStore   = "entries" // key -> {name, sha256, bytes, storedAt}
	modelsStore    = "models"  // name -> the added model's entry (addedEntry)
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
	global, err := globalIndexedDB()
	if err != nil {
		return nil, err
	}
	if !global.Truthy() {
		return nil, errors.New("this browser offers no IndexedDB here")
	}
	factory, err := idb.WrapFactory(global)
	if err != nil {
		return nil, err
	}
	req, err := factory.Open(ctx, cacheDBName, cacheDBVersion, func(db *idb.Database, oldVersion, _ uint) error {
		var stores []string
		if oldVersion < 1 {
			stores = append(stores, filesStore, entriesStore)
		}
		if oldVersion < 2 {
			stores = append(stores, modelsStore)
		}
		for _, name := range stores {
			if _, err := db.CreateObjectStore(name, idb.ObjectStoreOptions{}); err != nil {
				return err
			}
		}
		return nil
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

// globalIndexedDB reads the indexedDB global, which throws (a SecurityError)
// in some sandboxed frames and privacy modes instead of being absent. It
// reads through Reflect.get: a throw in Value.Get would end the Go program,
// one in Value.Call is a recoverable panic.
func globalIndexedDB() (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("this browser does not allow IndexedDB here (%v)", r)
		}
	}()
	return js.Global().Get("Reflect").Call("get", js.Global(), "indexedDB"), nil
}

// get returns what is stored for key (a Blob, or a Uint8Array stored by
// an earlier version of the page; anything else is damage), or ok false
// if there is nothing.
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

// put stores a verified file for e (a Uint8Array or a Blob), replacing
// the other versions of the same model. For a model added from a person's
// own file, added is its description (see addModel), written in the same
// transaction as the file, so that neither is ever stored without the
// other; for a bundled model it is undefined.
func (c *weightCache) put(ctx context.Context, e *modelEntry, file, added js.Value) error {
	return c.startPut(e, file, added)(ctx)
}

// startPut is put begun: the write is asked for at once, so that the
// browser stores the file while this worker goes on, and the function
// returned waits for it. Once it has committed, the other versions of the
// model are deleted; if it found no room while they took some, it is
// written again without them.
func (c *weightCache) startPut(e *modelEntry, file, added js.Value) func(context.Context) error {
	requests := func(s stores) error {
		key := js.ValueOf(e.cacheKey())
		// As a Blob, not a Uint8Array: Chromium writes a Blob over 10
		// times faster and reads it back 4 times faster (bench/idb_blob.mjs).
		// A Blob of a Blob shares its bytes.
		blob := js.Global().Get("Blob").New([]any{file})
		if _, err := s.files.PutKey(key, blob); err != nil {
			return err
		}
		meta := js.ValueOf(map[string]any{"name": e.name, "sha256": e.sha256, "bytes": e.bytes, "storedAt": float64(time.Now().UnixMilli())})
		if _, err := s.entries.PutKey(key, meta); err != nil {
			return err
		}
		if added.IsUndefined() {
			return nil
		}
		_, err := s.models.PutKey(js.ValueOf(e.name), added)
		return err
	}
	written := c.startWrite(requests)
	return func(ctx context.Context) error {
		err := written(ctx)
		stale, lerr := c.otherVersions(ctx, e)
		if lerr == nil {
			lerr = c.delete(ctx, stale...)
		}
		if lerr != nil {
			return errors.Join(err, lerr)
		}
		if isQuotaError(err) && len(stale) > 0 {
			err = c.write(ctx, requests)
		}
		return err
	}
}

// otherVersions are the keys of e's model stored under another key.
func (c *weightCache) otherVersions(ctx context.Context, e *modelEntry) ([]string, error) {
	files, err := c.list(ctx)
	var keys []string
	for _, f := range files {
		if f.name == e.name && f.key != e.cacheKey() {
			keys = append(keys, f.key)
		}
	}
	return keys, err
}

// delete removes the files stored under keys.
func (c *weightCache) delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return c.write(ctx, func(s stores) error {
		for _, k := range keys {
			if _, err := s.files.Delete(js.ValueOf(k)); err != nil {
				return err
			}
			if _, err := s.entries.Delete(js.ValueOf(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// removeModel deletes an added model: its description and every stored
// version of its weights, in one transaction.
func (c *weightCache) removeModel(ctx context.Context, name string) error {
	files, err := c.list(ctx)
	if err != nil {
		return err
	}
	return c.write(ctx, func(s stores) error {
		for _, f := range files {
			if f.name != name {
				continue
			}
			if _, err := s.files.Delete(js.ValueOf(f.key)); err != nil {
				return err
			}
			if _, err := s.entries.Delete(js.ValueOf(f.key)); err != nil {
				return err
			}
		}
		_, err := s.models.Delete(js.ValueOf(name))
		return err
	})
}

// setModel replaces an added model's description (its weights stay).
func (c *weightCache) setModel(ctx context.Context, name string, added js.Value) error {
	return c.write(ctx, func(s stores) error {
		_, err := s.models.PutKey(js.ValueOf(name), added)
		return err
	})
}

// clear removes every stored file and added model.
func (c *weightCache) clear(ctx context.Context) error {
	return c.write(ctx, func(s stores) error {
		for _, st := range []*idb.ObjectStore{s.files, s.entries, s.models} {
			if _, err := st.Clear(); err != nil {
				return err
			}
		}
		return nil
	})
}

// stores are the cache's object stores within one transaction.
type stores struct{ files, entries, models *idb.ObjectStore }

// write runs requests in one read-write transaction over all stores and
// waits until it commits; an error from requests aborts it, so that
// nothing of it is stored.
func (c *weightCache) write(ctx context.Context, requests func(stores) error) error {
	return c.startWrite(requests)(ctx)
}

// startWrite is write begun: the requests are made at once, and the
// function returned waits for the commit.
func (c *weightCache) startWrite(requests func(stores) error) func(context.Context) error {
	failed := func(err error) func(context.Context) error { return func(context.Context) error { return err } }
	txn, err := c.db.Transaction(idb.TransactionReadWrite, filesStore, entriesStore, modelsStore)
	if err != nil {
		return failed(err)
	}
	var s stores
	for _, st := range []struct {
		name string
		to   **idb.ObjectStore
	}{{filesStore, &s.files}, {entriesStore, &s.entries}, {modelsStore, &s.models}} {
		if *st.to, err = txn.ObjectStore(st.name); err != nil {
			return failed(err)
		}
	}
	if err := requests(s); err != nil {
		txn.Abort()
		return failed(err)
	}
	return txn.Await
}

// models returns the descriptions of the added models.
func (c *weightCache) models(ctx context.Context) ([]js.Value, error) {
	var out []js.Value
	err := c.each(ctx, modelsStore, func(_, v js.Value) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// each calls fn with every key and value of a store, in key order.
func (c *weightCache) each(ctx context.Context, store string, fn func(key, value js.Value) error) error {
	txn, err := c.db.Transaction(idb.TransactionReadOnly, store)
	if err != nil {
		return err
	}
	st, err := txn.ObjectStore(store)
	if err != nil {
		return err
	}
	cursor, err := st.OpenCursor(idb.CursorNext)
	if err != nil {
		return err
	}
	return cursor.Iter(ctx, func(c *idb.CursorWithValue) error {
		key, err := c.Key()
		if err != nil {
			return err
		}
		v, err := c.Value()
		if err != nil {
			return err
		}
		return fn(key, v)
	})
}

// list describes every stored file, without reading the files.
func (c *weightCache) list(ctx context.Context) ([]cachedFile, error) {
	var out []cachedFile
	err := c.each(ctx, entriesStore, func(key, v js.Value) error {
		f := jsutil.Fields{Obj: v}
		out = append(out, cachedFile{
			key: key.String(), name: f.Str("name"), sha256: f.Str("sha256"),
			bytes: f.Int("bytes", 0, maxWeightBytes), storedAt: float64(f.Int("storedAt", 0, 1<<53)),
		})
		return f.Err
	})
	return out, err
}

// isQuotaError reports whether err means the storage quota is used up.
func isQuotaError(err error) bool {
	return errors.Is(err, idb.NewDOMException("QuotaExceededError"))
}
