//go:build !linux

package main

// supervise leaves every command line to this process where there is no
// Pdeathsig to tie a child to it.
func supervise([]string) (int, bool) { return 0, false }
