package fslink

import "os"

// WritePrivate replaces path with data like WriteFile, readable and
// writable by this process's account only (and, on Windows, SYSTEM and
// Administrators): it holds secrets.
func WritePrivate(path string, data []byte) error {
	if err := WriteFile(path, data, 0o600); err != nil {
		return err
	}
	return restrict(path, false)
}

// MakePrivateDir makes dir (and its parents) and restricts it like
// WritePrivate's files; on Windows what is created in it inherits that,
// so a secret is never readable by others, not even while it is written.
func MakePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return restrict(dir, true)
}
