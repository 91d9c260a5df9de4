//go:build !go1.9
// +build !go1.9

// Command binarytrees is the Go 1.8 twin of goheap's binarytrees workload
// (src/goheap/workloads/binarytrees.py, tests/oracle/binarytrees): the
// benchmarks-game allocation pattern, run sequentially on one goroutine.
// A tree of depth d has 2^(d+1)-1 nodes of 16 bytes (two pointers); every
// node is returned from bottomUpTree, so every node escapes to the heap.
//
// In the language of Go 1.8 (no modules, generics, any, min,
// runtime/metrics), with report.go (../report) beside it; built with the
// toolchain of ../../../shared/go1.8 (../README.md):
//
//	GOROOT=/work/go1.8/go GO111MODULE=off /work/go1.8/go/bin/go build -o binarytrees18 .
//	GOMAXPROCS=1 GODEBUG=gctrace=1 ./binarytrees18 -depth 16
//
// Output: see ../report/report.go.
package main

import (
	"flag"
)

// Node is a tree node: two pointers, 16 bytes.
type Node struct{ left, right *Node }

var (
	depth = flag.Int("depth", 14, "maximum tree depth (at least 6 is used)")
	run   *runState
	nodes int
)

func bottomUpTree(depth int) *Node {
	if depth <= 0 {
		n := &Node{}
		nodes++
		run.tick(16)
		return n
	}
	l := bottomUpTree(depth - 1) // children before their parent
	r := bottomUpTree(depth - 1)
	n := &Node{l, r}
	nodes++
	run.tick(16)
	return n
}

func itemCheck(n *Node) int {
	if n.left == nil {
		return 1
	}
	return 1 + itemCheck(n.left) + itemCheck(n.right)
}

func main() {
	run = start("binarytrees")
	if *depth < 0 || *depth > 30 {
		fail("-depth must be between 0 and 30, got %d", *depth)
	}
	maxDepth := *depth
	if maxDepth < 6 {
		maxDepth = 6
	}
	checked := itemCheck(bottomUpTree(maxDepth + 1)) // stretch tree, then dropped
	longLived := bottomUpTree(maxDepth)              // kept to the end
	for d := 4; d <= maxDepth; d += 2 {
		for i := 0; i < 1<<uint(maxDepth-d+4); i++ {
			checked += itemCheck(bottomUpTree(d))
		}
	}
	checked += itemCheck(longLived)
	// As in the model, nothing is live any more when the run ends.
	run.finish(func() interface{} {
		return map[string]int{"checked": checked, "nodes": nodes}
	})
}
