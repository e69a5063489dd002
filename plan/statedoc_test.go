package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadStateDocument(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	now := time.Now()
	doc, err := ReadStateDocument("-", strings.NewReader(`{"format_version":1,"lineage":"0b6b4a5e-3f0e-4c7b-9a5d-2f1e8c7d6b5a","serial":1,"resources":[],"outputs":{},"cache":[]}`), now)
	if err != nil || doc.Serial != 1 {
		t.Fatalf("a pulled document: %v, %+v", err, doc)
	}
	var de *DocumentError
	bad := `{"format_version":1,"lineage":"` + strings.Repeat("a", 32) + `","serial":1,"resources":[],"outputs":{},"cache":[]}`
	if _, err := ReadStateDocument("-", strings.NewReader(bad), now); !errors.As(err, &de) || !de.Checked || !strings.Contains(err.Error(), "lineage") {
		t.Errorf("a lineage wxmedia never writes: %v", err)
	}
	if _, err := ReadStateDocument(write("x.json", "hello"), nil, now); !errors.As(err, &de) || !de.NotDocument || !strings.Contains(err.Error(), "is not a wxmedia state document") {
		t.Errorf("not a document: %v", err)
	}
	if _, err := ReadStateDocument(write("y.json", `{"format_version":1,"serial":"one"}`), nil, now); !errors.As(err, &de) || de.Checked {
		t.Errorf("a field of the wrong type: %v", err)
	}
	if _, err := ReadStateDocument(filepath.Join(dir, "missing.json"), nil, now); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "read ") {
		t.Errorf("a missing file: %v", err)
	}
}
