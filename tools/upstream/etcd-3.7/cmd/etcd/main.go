// Command etcd is upstream etcd's server entry point, built from the pinned module.
// Upstream's own main package sits at the root of go.etcd.io/etcd/server/v3, where `go build`
// would name the binary "server"; this wrapper gives it the name every tool expects.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
