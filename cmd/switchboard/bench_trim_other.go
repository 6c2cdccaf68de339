//go:build !linux || !cgo

package main

// releaseCMemory does nothing where there is no glibc to ask.
func releaseCMemory() {}
