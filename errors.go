package main

import (
	"errors"
	"io/fs"

	"github.com/wxmedia/wxmedia/state"
	"github.com/wxmedia/wxmedia/uploader"
)

// hintsFor gives hints a user can act on for runtime errors.
func hintsFor(err error) []string {
	switch {
	case errors.Is(err, state.ErrLocked):
		return []string{"wait for it to finish, or give -lock-timeout=DURATION to wait"}
	case errors.Is(err, state.ErrCorrupt):
		return []string{"the file was left untouched; restore it from a backup"}
	case errors.Is(err, uploader.ErrVerify):
		return []string{"check platform_public_key_id and platform_public_key_file, and the local clock"}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
