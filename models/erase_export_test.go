package models

// SetMaxLogBytes sets how long the write-ahead log may grow before the
// eraser empties it, for a test, and returns a function that sets it back.
func SetMaxLogBytes(n int64) (restore func()) {
	old := maxLogBytes
	maxLogBytes = n
	return func() { maxLogBytes = old }
}
