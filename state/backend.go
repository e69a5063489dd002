package state

// A state store is seen through small interfaces, each what one kind of
// caller needs: plan and the read-only state commands read (Reader),
// apply records what it did (Writer), the state commands that edit a
// state do surgery (Surgery), and whoever opened a state releases it
// (Locker). Backend, their union, is what Open returns. A caller takes the
// narrowest one that serves it. Every method is safe for concurrent use.

// PointReader reads parts of a state; a call's cost grows with what it
// returns (and the depth of the state's tree), not with the state's size or
// history. A missing state, opened read-only, reads as empty: Head returns
// Lineage "", Serial 0, no resources, an empty Outputs and a nil PlanKey,
// and ReadResources returns an empty map and serial 0. A damaged state
// gives an error wrapping ErrCorrupt, never a crash.
type PointReader interface {
	// Head reads, in one read transaction, everything of a state but its
	// resources and cache entries (see Head).
	Head() (*Head, error)
	// ReadResources reads the records at addrs in one read transaction and
	// returns them by address, with that transaction's serial; addresses
	// not recorded are absent from the map (which is never nil), and an
	// address given twice is read once. A record that fails its checksum or
	// does not decode gives an error wrapping ErrCorrupt.
	ReadResources(addrs []string) (map[string]Resource, uint64, error)
}

// Reader reads a state.
type Reader interface {
	PointReader
	// Snapshot reads the whole state in one read transaction.
	Snapshot() (*Snapshot, error)
	// LookupCache looks up keys in one read transaction and returns the
	// entries found; keys not in the cache are absent from the map.
	LookupCache(keys []CacheKey) (map[CacheKey]CacheEntry, error)
	// ListCache returns every cache entry, sorted by service, merchant ID,
	// API and SHA-256.
	ListCache() ([]CacheEntry, error)
	// Export reads, in one read transaction, everything a state holds
	// besides machine-local data: lineage, serial, resources, outputs with
	// their values (sensitive ones included) and the cache entries
	// LookupCache can find. A backend whose cache is shared by several
	// configurations exports the whole shared cache. A missing state exports
	// as empty, with Lineage "" and Serial 0.
	Export() (*Export, error)
}

// Writer records what an apply did. Each write is one transaction that
// increments the serial, durable before the call returns.
type Writer interface {
	// CommitUpload durably records a verified identifier: the resource and
	// its cache entry, in one transaction that is synced to disk before
	// CommitUpload returns.
	CommitUpload(r Resource, e CacheEntry) error
	// PutResource records a resource without touching the cache, e.g. for a
	// reuse or a metadata change.
	PutResource(r Resource) error
	// RemoveResources removes the resources at addrs; addresses not in the
	// state are ignored.
	RemoveResources(addrs ...string) error
	// SetOutputs replaces all outputs.
	SetOutputs(outputs map[string]Output) error
}

// ReadWriter reads a state and records an apply's work in it.
type ReadWriter interface {
	Reader
	Writer
}

// Surgery is what the state commands do to a state besides an apply's
// writes.
type Surgery interface {
	// MoveResource renames the resource recorded at from to to.Address, in
	// one write transaction: the record at from is removed and to is
	// recorded in its place. The caller sets to's Address, Type, Name and
	// Key for the new address and keeps the other fields as they were. The
	// cache is not touched. It fails with an error wrapping ErrNotFound when
	// nothing is recorded at from, and with one wrapping ErrExists when
	// to.Address differs from from and is already recorded; either way
	// nothing changes.
	MoveResource(from string, to Resource) error
	// MoveResources does the moves in order, as MoveResource would one
	// after another, but in one write transaction: each move is checked
	// against the state as the moves before it left it, with the same
	// errors as MoveResource (ErrNotFound, ErrExists, in a *MoveError that
	// names the move), and on any error nothing changes. Without moves it
	// does nothing.
	MoveResources(moves []Move) error
	// PutCache records cache entries without touching resources, in one
	// write transaction; an entry replaces any recorded under its key.
	// Without entries it does nothing.
	PutCache(entries ...CacheEntry) error
	// RemoveCache removes, in one write transaction, every cache entry that
	// f matches, and returns how many it removed. Resources are not
	// touched: their identifiers stay valid, only a later reuse of the same
	// content can no longer find them. When nothing matches, nothing is
	// written.
	RemoveCache(f CacheFilter) (int, error)
	// Push replaces the state's resources and outputs with those of doc and
	// adds doc's cache entries to the cache (entries not in doc are kept, as
	// a shared cache may serve other configurations), in one write
	// transaction that checks, unless force is set:
	//   - the lineages match (or the state has no resources, outputs or
	//     cache entries yet), else an error wrapping ErrLineage;
	//   - doc.Serial is not below the state's serial, else an error
	//     wrapping ErrSerialBehind.
	// Afterwards the state has doc's lineage (when doc has one) and the
	// serial max(state serial, doc.Serial)+1, so that a saved plan or a
	// pulled copy taken before the push is stale. doc is checked as a whole
	// first (every record valid, addresses unique and matching their map
	// keys); on any error nothing changes.
	Push(doc *Export, force bool) error
}

// Locker is an open state, holding what opening it took until Close: a
// writer's exclusive lock, a local reader's shared one (see Options), its
// file or connections.
type Locker interface {
	// Close releases the backend and its lock. Closing twice is harmless.
	Close() error
}

// Backend is a whole state store: every interface above.
type Backend interface {
	Reader
	Writer
	Surgery
	Locker
}
