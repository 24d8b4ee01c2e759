// Package readmetest holds a test that the Go code of the README compiles as written:
// the blocks of its "Usage from Go" section, taken together, are a program that `go
// vet` (which type-checks it) accepts. It has no code of its own.
package readmetest
