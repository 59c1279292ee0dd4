//go:build tools

// Package tools records the upstream etcdctl command this module builds, so `go mod tidy`
// keeps its requirements.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
)
