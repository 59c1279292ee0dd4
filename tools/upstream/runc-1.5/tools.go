//go:build tools

// Package tools records the upstream commands this module builds, so `go mod tidy` keeps
// their requirements.
package tools

import (
	_ "github.com/opencontainers/runc"
)
