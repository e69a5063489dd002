// Package atomicfile replaces files so that a reader sees either the old
// content or the new, never a part: the one way wxmedia writes a file it
// may be read while it changes (state side files, published outputs,
// saved plans, the stat cache, cached platform certificates, the
// sandbox's world). The standard library has the parts (os.CreateTemp,
// File.Sync, os.Rename) but not the sequence.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// CreateError reports that the temporary file could not be created in
// Dir, which is missing or not writable.
type CreateError struct {
	Dir string
	Err error
}

func (e *CreateError) Error() string { return e.Err.Error() }
func (e *CreateError) Unwrap() error { return e.Err }

// Durability says what is on disk when Write returns.
type Durability int

const (
	// Replace: readers see the new file at once; after a crash the old
	// file, the new one, or (on some file systems) an empty one may be
	// found. For caches and files the user can make again.
	Replace Durability = iota
	// Durable: the file and the rename are synced, so the new content
	// survives a crash once Write returns.
	Durable
)

// Write replaces the file at path, mode perm, with what write writes: to a
// temporary file in path's directory, renamed over path once complete. On
// failure path is untouched and the temporary file removed.
func Write(path string, perm os.FileMode, d Durability, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return &CreateError{Dir: dir, Err: err}
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if d == Durable {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d == Durable {
		return SyncDir(dir)
	}
	return nil
}

// WriteBytes is Write of data.
func WriteBytes(path string, data []byte, perm os.FileMode, d Durability) error {
	return Write(path, perm, d, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir makes a rename or link in dir durable.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
