//go:build tools

// Package tools records the upstream node commands this module builds, so `go mod tidy` keeps
// their requirements.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
