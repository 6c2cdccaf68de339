//go:build linux && cgo

package main

// #include <malloc.h>
import "C"

// releaseCMemory hands the C heap's free memory back to the system (glibc
// keeps what SQLite freed after the seeding for reuse).
func releaseCMemory() { C.malloc_trim(0) }
