// Command binarytrees is the Go twin of goheap's binarytrees workload
// (src/goheap/workloads/binarytrees.py): the benchmarks-game allocation
// pattern, run sequentially on one goroutine.
//
//	go run ./binarytrees -depth 10
//
// A tree of depth d has 2^(d+1)-1 nodes of 16 bytes (two pointers); every
// node is returned from bottomUpTree, so every node escapes to the heap.
package main

import (
	"flag"

	"goheap/oracle/internal/report"
)

// Node is a tree node: two pointers, 16 bytes.
type Node struct{ left, right *Node }

var (
	depth = flag.Int("depth", 14, "maximum tree depth (at least 6 is used)")
	run   *report.Run
	nodes int
)

func bottomUpTree(depth int) *Node {
	if depth <= 0 {
		n := &Node{}
		nodes++
		run.Tick()
		return n
	}
	l := bottomUpTree(depth - 1) // children before their parent
	r := bottomUpTree(depth - 1)
	n := &Node{l, r}
	nodes++
	run.Tick()
	return n
}

func itemCheck(n *Node) int {
	if n.left == nil {
		return 1
	}
	return 1 + itemCheck(n.left) + itemCheck(n.right)
}

func main() {
	run = report.Start("binarytrees")
	if *depth < 0 || *depth > 30 {
		report.Fail("-depth must be between 0 and 30, got %d", *depth)
	}
	maxDepth := max(6, *depth)
	checked := itemCheck(bottomUpTree(maxDepth + 1)) // stretch tree, then dropped
	longLived := bottomUpTree(maxDepth)              // kept to the end
	for d := 4; d <= maxDepth; d += 2 {
		for i := 0; i < 1<<(maxDepth-d+4); i++ {
			checked += itemCheck(bottomUpTree(d))
		}
	}
	checked += itemCheck(longLived)
	// As in the model, nothing is live any more when the run ends.
	run.Finish(func() any {
		return map[string]int{"checked": checked, "nodes": nodes}
	})
}
