package state

import (
	"encoding/json"
	"fmt"
	"strings"
)

// isSHA256 reports whether s is 64 lowercase hex digits.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkResource(r Resource) error {
	switch {
	case r.Address == "":
		return fmt.Errorf("%w: resource has no address", ErrInvalid)
	case r.ID == "":
		return fmt.Errorf("%w: resource has no identifier", ErrInvalid)
	case !isSHA256(r.SHA256):
		return fmt.Errorf("%w: sha256 %q is not 64 lowercase hex digits", ErrInvalid, r.SHA256)
	}
	return nil
}

func checkCacheKey(k CacheKey) error {
	switch {
	case k.Service == "" || k.MchID == "" || k.API == "":
		return fmt.Errorf("%w: cache key %s lacks service, mchid or api", ErrInvalid, keyString(k))
	case strings.ContainsRune(k.Service, 0) || strings.ContainsRune(k.MchID, 0) || strings.ContainsRune(k.API, 0):
		return fmt.Errorf("%w: cache key %s contains a NUL byte", ErrInvalid, keyString(k))
	case !isSHA256(k.SHA256):
		return fmt.Errorf("%w: cache key %s: sha256 is not 64 lowercase hex digits", ErrInvalid, keyString(k))
	}
	return nil
}

func checkCacheEntry(e CacheEntry) error {
	if err := checkCacheKey(e.CacheKey); err != nil {
		return err
	}
	if e.ID == "" {
		return fmt.Errorf("%w: cache entry %s has no identifier", ErrInvalid, keyString(e.CacheKey))
	}
	return nil
}

func checkOutput(name string, o Output) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: output has no name", ErrInvalid)
	case len(o.Value) == 0 || !json.Valid(o.Value):
		return fmt.Errorf("%w: output %s: value is not valid JSON", ErrInvalid, name)
	case len(o.Type) == 0 || !json.Valid(o.Type):
		return fmt.Errorf("%w: output %s: type is not valid JSON", ErrInvalid, name)
	}
	return nil
}

// keyString returns k as service/mchid/api/sha256, for messages.
func keyString(k CacheKey) string {
	return fmt.Sprintf("%q/%q/%q/%q", k.Service, k.MchID, k.API, k.SHA256)
}

// cacheKeyBytes is k's key in the cache bucket: its fields joined by NUL
// bytes, so that keys sort by service, merchant ID, API and SHA-256.
func cacheKeyBytes(k CacheKey) []byte {
	b := make([]byte, 0, len(k.Service)+len(k.MchID)+len(k.API)+len(k.SHA256)+3)
	b = append(b, k.Service...)
	b = append(b, 0)
	b = append(b, k.MchID...)
	b = append(b, 0)
	b = append(b, k.API...)
	b = append(b, 0)
	return append(b, k.SHA256...)
}
