package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The sandbox never overwrites a file it did not write: it makes a new
// world only in a directory without its files (or where an interrupted
// creation left its marker), and rewrites a merchant config only when the
// file begins with the header it writes.

// ErrNotOwned is a file the sandbox would write that exists and was not
// written by it.
var ErrNotOwned = errors.New("exists and was not written by the sandbox")

// creatingFile marks a world being created: the files beside it are the
// sandbox's, left by an interrupted creation.
const creatingFile = ".sandbox-creating"

// merchantConfigMarker begins every merchant config the sandbox writes.
const merchantConfigMarker = "# wxmedia sandbox "

// worldFiles are the files and directories a new world writes.
var worldFiles = []string{worldFile, platformKeyFile, platformPubFile, platformCertFile, caKeyFile, caCertFile, serverKeyFile, serverCertFile, merchantsDir, dbFile}

func notOwned(path string) error {
	return fmt.Errorf("%s %w: it is left as it is; move it, or give the sandbox a directory of its own", path, ErrNotOwned)
}

// claimDir checks that a new world overwrites nothing in the directory,
// and marks it as being created.
func (s *Sandbox) claimDir() error {
	if _, err := os.Lstat(s.path(creatingFile)); err == nil {
		return nil
	}
	for _, f := range worldFiles {
		if _, err := os.Lstat(s.path(f)); !errors.Is(err, fs.ErrNotExist) {
			return notOwned(s.path(f))
		}
	}
	return writeFileAtomic(s.path(creatingFile), []byte("a wxmedia sandbox is being created here\n"), 0o600)
}

// created removes the creation marker.
func (s *Sandbox) created() error {
	if err := os.Remove(s.path(creatingFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// CheckMerchantConfig reports, as an error wrapping ErrNotOwned, whether
// path holds a file that WriteMerchantConfig would overwrite and that the
// sandbox did not write (one that does not begin with its header).
func CheckMerchantConfig(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return notOwned(path)
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(line, merchantConfigMarker) {
		return notOwned(path)
	}
	return nil
}
