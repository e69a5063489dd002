// Package safefile opens and reads the files wxmedia is pointed at from
// outside (media sources, configuration files, the files of file() and
// filesha256(), another configuration's outputs) so that none can block
// the process or grow its memory without bound: a file is opened without
// blocking (a named pipe without a writer would otherwise block the open
// forever), must be a regular file once open (the open descriptor is
// checked, so a path swapped for a pipe or a device after a stat is still
// refused), and is read up to a limit plus one byte, so that a file
// growing while it is read cannot make the read endless.
package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/wxmedia/wxmedia/internal/words"
)

// ErrNotRegular is matched (errors.Is) by every *NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched (errors.Is) by every *TooLargeError.
var ErrTooLarge = errors.New("file too large")

// NotRegularError: the path names a directory, a named pipe, a device or
// a socket.
type NotRegularError struct {
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	switch t := e.Mode.Type(); {
	case t&fs.ModeDir != 0:
		return "is a directory, not a regular file"
	case t&fs.ModeNamedPipe != 0:
		return "is a named pipe, not a regular file"
	case t&fs.ModeSocket != 0:
		return "is a socket, not a regular file"
	case t&fs.ModeCharDevice != 0:
		return "is a character device, not a regular file"
	case t&fs.ModeDevice != 0:
		return "is a device, not a regular file"
	}
	return fmt.Sprintf("is not a regular file (%s)", e.Mode.Type())
}

func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// TooLargeError: the file holds more than Limit bytes.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("is larger than the limit of %s", FormatLimit(e.Limit))
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// FormatLimit writes a limit in bytes the way the messages do: 2 MiB,
// 512 KiB, or a number of bytes.
func FormatLimit(n int64) string { return words.Size(n) }

// Open opens path for reading without blocking and returns it with its
// metadata, read from the open descriptor. Anything but a regular file
// (after following symbolic links) is closed again and refused with a
// *NotRegularError. Errors are *fs.PathError, as os.Open's are.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := openNonblock(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: &NotRegularError{Mode: st.Mode()}}
	}
	return f, st, nil
}

// ReadFile reads the regular file at path, refusing it with a
// *TooLargeError (in an *fs.PathError) when it holds more than limit
// bytes: it reads at most limit+1 bytes, whatever the file's size says.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, path, st.Size(), limit)
}

// ReadLimited reads r (a stream such as stdin, named name in errors) to
// its end, refusing it with a *TooLargeError (in an *fs.PathError) once it
// holds more than limit bytes: it reads at most limit+1 bytes.
func ReadLimited(r io.Reader, name string, limit int64) ([]byte, error) {
	return readAll(r, name, 0, limit)
}

func readAll(f io.Reader, path string, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Limit: limit}}
	}
	var buf bytes.Buffer
	// The size told is a hint: the file may have changed since.
	buf.Grow(int(min(size, limit)) + 1)
	n, err := buf.ReadFrom(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if n > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Limit: limit}}
	}
	return buf.Bytes(), nil
}
