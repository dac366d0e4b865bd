//go:build !linux

package winetest

import (
	"errors"
	"os"
)

// ServerHolds is only implemented where Wine tests run (Linux).
func (w *Wine) ServerHolds(f *os.File) (bool, error) {
	return false, errors.New("winetest: ServerHolds needs linux")
}
