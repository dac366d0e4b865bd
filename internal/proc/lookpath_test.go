package proc

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLookPathIn(t *testing.T) {
	dir := t.TempDir()
	name := "tool"
	file := name
	if runtime.GOOS == "windows" {
		file = name + ".exe"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	got, err := LookPathIn(name, other+string(os.PathListSeparator)+"relative"+string(os.PathListSeparator)+dir)
	if err != nil || got != filepath.Join(dir, file) {
		t.Fatalf("LookPathIn = %q, %v", got, err)
	}
	if _, err := LookPathIn(name, other); err != ErrNotFound {
		t.Fatalf("not on the PATH: %v", err)
	}
	if runtime.GOOS != "windows" {
		os.WriteFile(filepath.Join(other, name), []byte("data"), 0o644)
		if _, err := LookPathIn(name, other); err != ErrNotFound {
			t.Fatalf("a file without execute permission is not a program: %v", err)
		}
	}
	if p := PathOf([]string{"HOME=/root", "PATH=/a:/b"}); p != "/a:/b" {
		t.Fatalf("PathOf = %q", p)
	}
}
