package state

import (
	"fmt"
	"runtime"

	bolt "go.etcd.io/bbolt"

	"github.com/wxmedia/wxmedia/internal/parallel"
)

// decodeBatch is how many resources decodeResources reads from the bucket
// before decoding them and releasing the pages they were read from.
const decodeBatch = 8192

// maxCountHint bounds the map size a count read from the state asks for.
const maxCountHint = 1 << 22

// decodeResources decodes every resource in b. Decoding is what a large
// snapshot spends its time on, so each batch is spread over the CPUs; the
// keys and values stay valid because the caller's transaction stays open.
// Once a batch is decoded, nothing refers to the file's pages
// any more, and the mapped pages are dropped from memory (see
// releasePages): a large state never stays resident as a whole.
//
// count is the number of resources the state says it holds, for sizing
// the map; a wrong count costs time only. sealed says whether the records
// carry checksums (isSealed).
func decodeResources(b *bolt.Bucket, count uint64, sealed bool) (map[string]Resource, error) {
	rs := make(map[string]Resource, min(count, maxCountHint))
	workers := runtime.GOMAXPROCS(0)
	decs := make([]resourceDecoder, workers)
	var keys, values [][]byte
	decoded := make([]Resource, decodeBatch)
	flush := func() error {
		n := len(values)
		if n == 0 {
			return nil
		}
		chunks := min(workers, (n+255)/256)
		per := (n + chunks - 1) / chunks
		errs := make([]error, chunks)
		parallel.For(n, per, func(w, lo, hi int) {
			c, dec, i := lo/per, &decs[w], lo
			// A damaged record must give an error, never a crash, even in
			// a goroutine of its own.
			defer func() {
				if p := recover(); p != nil {
					errs[c] = fmt.Errorf("%w: resource %q: %v", ErrCorrupt, keys[i], p)
				}
			}()
			for ; i < hi; i++ {
				r := &decoded[i]
				if err := dec.decodeValue(keys[i], values[i], sealed, r); err != nil {
					errs[c] = fmt.Errorf("%w: resource %q: %w", ErrCorrupt, keys[i], err)
					return
				}
				if r.Address != string(keys[i]) {
					errs[c] = fmt.Errorf("%w: resource %q stored under %q", ErrCorrupt, r.Address, keys[i])
					return
				}
			}
		})
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		for i := range n {
			rs[decoded[i].Address] = decoded[i]
		}
		keys, values = keys[:0], values[:0]
		releasePages(b.Tx())
		return nil
	}
	if err := b.ForEach(func(k, v []byte) error {
		keys = append(keys, k)
		values = append(values, v)
		if len(values) == decodeBatch {
			return flush()
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return rs, nil
}

// decodeValue decodes the value stored under key, checking and removing
// its checksum first when sealed.
func (d *resourceDecoder) decodeValue(key, v []byte, sealed bool, r *Resource) error {
	if sealed {
		p, err := unseal(key, v)
		if err != nil {
			*r = Resource{}
			return err
		}
		v = p
	}
	return d.decode(key, v, r)
}

// resourceDecoder decodes stored resources: binary records (record.go)
// and JSON records. A JSON record goes first to a specialised parser
// (fastjson.go) and, when it is not in the plain shape that parser takes,
// to decodeJSONRecord, the reference, whose result the parser's always
// equals. Repeated values (type, name, merchant, service…) share one
// string. A decoder is not safe for concurrent use.
type resourceDecoder struct {
	last [6]string
	// scratch holds the current record's unescaped strings.
	scratch []byte
}

// decode decodes the record data stored under key: a binary record (see
// record.go) or, as schema version 1 wrote every record, JSON.
func (d *resourceDecoder) decode(key, data []byte, r *Resource) error {
	if len(data) > 0 && data[0] == recordTag {
		return d.binary(key, data, r)
	}
	if d.fastJSON(data, r) {
		return nil
	}
	return decodeJSONRecord(data, r)
}
