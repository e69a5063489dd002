package plan

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/wxmedia/wxmedia/internal/safefile"
	"github.com/wxmedia/wxmedia/state"
)

// DocumentError is a state document that state push refuses. Name is
// where it was read ("-" for stdin); Err says why, a *FieldError for a
// field wxmedia would never have written. NotDocument is set when the
// bytes are not a state document at all; Checked when the document
// decoded but a field failed CheckStateDocument, which a document that
// state pull wrote passes.
type DocumentError struct {
	Name        string
	Err         error
	NotDocument bool
	Checked     bool
}

func (e *DocumentError) Error() string {
	if e.NotDocument {
		return fmt.Sprintf("%s is not a wxmedia state document: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

func (e *DocumentError) Unwrap() error { return e.Err }

// ReadStateDocument reads the state document state push takes from the
// file name, or from stdin when name is "-": a regular file opened
// without blocking (a named pipe or a device is refused at once), read up
// to MaxStateDocumentSize either way. Every field is checked before the
// document is returned (DecodeStateDocument, CheckStateDocument against
// now, state.CheckExport): it comes from outside. A document refused is a
// *DocumentError; a read error names the file.
func ReadStateDocument(name string, stdin io.Reader, now time.Time) (*state.Export, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = safefile.ReadLimited(stdin, "-", MaxStateDocumentSize)
	} else {
		data, err = safefile.ReadFile(name, MaxStateDocumentSize)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	doc, err := DecodeStateDocument(data)
	if err != nil {
		var fe *FieldError
		return nil, &DocumentError{Name: name, Err: err, NotDocument: !errors.As(err, &fe)}
	}
	if err := CheckStateDocument(doc, now); err != nil {
		return nil, &DocumentError{Name: name, Err: err, Checked: true}
	}
	if err := state.CheckExport(doc); err != nil {
		return nil, &DocumentError{Name: name, Err: err}
	}
	return doc, nil
}
