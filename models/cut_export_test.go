package models

// CutText is cutText, for tests outside the package.
var CutText = cutText

// MaxOutboxSubject and MaxOutboxToName are the outbox's column sizes.
const (
	MaxOutboxSubject = maxOutboxSubject
	MaxOutboxToName  = maxOutboxToName
)
