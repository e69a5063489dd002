package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"path/filepath"

	"github.com/wxmedia/wxmedia/internal/safefile"
)

// OutputsFileName is the name of the file, beside a local state, where apply
// publishes the configuration's outputs for other configurations to read
// while it holds the state lock.
const OutputsFileName = "outputs.json"

// MaxOutputsFileSize bounds the outputs file ReadOutputsFile reads (another
// configuration's, for a remote state): it is opened without blocking, must
// be a regular file, and is read up to this size plus one byte.
const MaxOutputsFileSize = 16 << 20

// outputsFormatVersion is the version of the outputs file's format.
const outputsFormatVersion = 1

// outputsFile is the content of an outputs file.
type outputsFile struct {
	FormatVersion int                     `json:"format_version"`
	Outputs       map[string]storedOutput `json:"outputs"`
	// Checksum is outputsSum of Outputs, so that a reader finds a damaged
	// identifier instead of using it; files written before it have none.
	Checksum string `json:"checksum,omitempty"`
}

// outputsSum is the CRC-32C of the outputs as compact JSON, keys sorted.
func outputsSum(outputs map[string]Output) (string, error) {
	norm := make(map[string]Output, len(outputs))
	for name, o := range outputs {
		o.Value, o.Type = compactJSON(o.Value), compactJSON(o.Type)
		norm[name] = o
	}
	b, err := json.Marshal(storedOutputs(norm))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("crc32c:%08x", crc32.Checksum(b, castagnoli)), nil
}

// OutputsPath returns the outputs file of the local state at statePath.
func OutputsPath(statePath string) string {
	return filepath.Join(filepath.Dir(statePath), OutputsFileName)
}

// WriteOutputsFile replaces the outputs file at path, mode 0600, atomically:
// a reader sees either the previous outputs or these.
func WriteOutputsFile(path string, outputs map[string]Output) error {
	for name, o := range outputs {
		if err := checkOutput(name, o); err != nil {
			return fmt.Errorf("write outputs %s: %w", path, err)
		}
	}
	if outputs == nil {
		outputs = map[string]Output{}
	}
	sum, err := outputsSum(outputs)
	if err != nil {
		return fmt.Errorf("write outputs %s: %w", path, err)
	}
	data, err := json.MarshalIndent(outputsFile{FormatVersion: outputsFormatVersion, Outputs: storedOutputs(outputs), Checksum: sum}, "", "  ")
	if err != nil {
		return fmt.Errorf("write outputs %s: %w", path, err)
	}
	if err := writeFileAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("write outputs %s: %w", path, err)
	}
	return nil
}

// ReadOutputsFile reads the outputs file at path. A missing file gives an
// error satisfying errors.Is(err, fs.ErrNotExist).
func ReadOutputsFile(path string) (map[string]Output, error) {
	data, err := safefile.ReadFile(path, MaxOutputsFileSize)
	if err != nil {
		return nil, fmt.Errorf("read outputs: %w", err)
	}
	var f outputsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read outputs %s: %w", path, err)
	}
	if f.FormatVersion != outputsFormatVersion {
		return nil, fmt.Errorf("read outputs %s: format version %d: %w", path, f.FormatVersion, ErrSchemaVersion)
	}
	outputs := outputsOf(f.Outputs)
	for name, o := range outputs {
		if err := checkOutput(name, o); err != nil {
			return nil, fmt.Errorf("read outputs %s: %w", path, err)
		}
		// The file is indented for people; hand back compact JSON, as the
		// state does.
		o.Value, o.Type = compactJSON(o.Value), compactJSON(o.Type)
		outputs[name] = o
	}
	if outputs == nil {
		outputs = map[string]Output{}
	}
	if f.Checksum != "" {
		if sum, err := outputsSum(outputs); err != nil || sum != f.Checksum {
			return nil, fmt.Errorf("read outputs %s: %w: %w", path, ErrCorrupt, errChecksum)
		}
	}
	return outputs, nil
}

// compactJSON returns the valid JSON text b without insignificant space.
func compactJSON(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
