// Package static embeds the stylesheet, script and images into the binary.
package static

import "embed"

//go:embed *.css *.js *.svg
var Files embed.FS
