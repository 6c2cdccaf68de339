package models

// PrefixRange is prefixRange, for tests outside the package.
var PrefixRange = prefixRange
