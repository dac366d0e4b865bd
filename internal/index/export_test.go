package index

// OpenAtVersion opens path with the schema brought only to version v,
// so a test can make a database as an older ferry left it.
func OpenAtVersion(path string, v int) (*Index, error) { return openAt(path, v) }

// Exec runs a statement, for tests that write as an older ferry did.
func (x *Index) Exec(q string, args ...any) error {
	_, err := x.db.Exec(q, args...)
	return err
}
