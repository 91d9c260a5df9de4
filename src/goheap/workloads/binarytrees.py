"""binarytrees: the benchmarks-game allocation pattern, run sequentially.

The Go program it mirrors (tests/oracle/binarytrees/main.go)::

    type Node struct{ left, right *Node }

    func bottomUpTree(depth int) *Node {
        if depth <= 0 {
            return &Node{}
        }
        l := bottomUpTree(depth - 1)   // children before their parent
        r := bottomUpTree(depth - 1)
        return &Node{l, r}
    }

    maxDepth := max(6, n)
    itemCheck(bottomUpTree(maxDepth + 1))          // stretch tree, then dropped
    longLived := bottomUpTree(maxDepth)            // kept to the end
    for d := 4; d <= maxDepth; d += 2 {
        for i := 0; i < 1<<(maxDepth-d+4); i++ {
            itemCheck(bottomUpTree(d))
        }
    }
    itemCheck(longLived)

A tree of depth d has 2^(d+1)-1 nodes of 16 bytes (two pointers); depth 10
allocates 135,854 nodes. The children a frame holds while it allocates its
siblings and itself live in that goroutine's stack slots, as in Go.

The program's own work (the recursion, and the twin's report counting each
allocation; the walks of ``itemCheck``) takes CPU that the runtime's costs do
not include: each tree charges the twin's measured figures per node
(``BUILD_NS``, ``WALK_NS``, ``Heap.compute``), before it is built and after
it is walked. (Go spreads the building's share over the tree's allocations;
one charge a tree is at most a fraction of a millisecond.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from goheap.heap import Heap
from goheap.mutator import Goroutine
from goheap.runtime.common.gotype import Type
from goheap.runtime.common.wordmem import load64
from goheap.workloads.base import Param, Workload, program_ns

NODE: Final = Type("main.Node", size=16, pointers=[0, 8])
# tuple[str, ...]: one tuple object, passed as it is (a fixed-length Final tuple is
# unboxed when compiled, and boxed into a new tuple for every call that takes it).
STACK: Final[tuple[str, ...]] = ("main.bottomUpTree", "main.main", "runtime.main", "runtime.goexit")

#: The Go twin's own CPU per node, ns, by profile: building (``bottomUpTree`` and
#: its report's tick: 3.2 + 6.4 with Go 1.8, 1.5 + 1.3 with Go 1.27) and walking
#: (``itemCheck``), measured on the twins' CPU profiles (``benchmarks/program_work.py``,
#: binarytrees16-p2, 30 runs, +- 0.1-0.3 ns; benchmarks/RESULTS.md, session 22).
BUILD_NS: Final[dict[str, float]] = {"go1.8": 9.6, "go1.27": 2.8}
WALK_NS: Final[dict[str, float]] = {"go1.8": 3.6, "go1.27": 2.0}


def bottom_up_tree(h: Heap, g: Goroutine, depth: int) -> int:
    if depth <= 0:
        return h._new(NODE, STACK)
    left = bottom_up_tree(h, g, depth - 1)
    # The frame holds what it allocated: unchecked pushes and stores of ints (the
    # program's types are right by construction, as Go's compiler makes them).
    g._hold(left)
    right = bottom_up_tree(h, g, depth - 1)
    g._hold(right)
    node = h._new(NODE, STACK)
    h._init_pointer(node, 0, left)
    h._init_pointer(node, 8, right)
    g._drop(2)  # g.pop(2), without unboxing the slot's value
    return node


def item_check(h: Heap, node: int, *, drop: bool = False) -> int:
    """Walk the tree (reads every node's two pointer words); returns the node count.

    ``drop``: the program lets go of the tree after the walk, so each node is
    also declared dead (``heap.dead``) as it is passed -- in the same walk.
    Only lifetime mode needs that (it is how that mode learns the tree is
    garbage) and a trace recorder keeps it (so that a graph-mode trace can be
    replayed in lifetime mode); otherwise nothing is declared.
    """
    dead = h.dead if drop and (h.liveness == "lifetime" or h.observer is not None) else None
    return _walk(h.mheap.mem.words, h.mheap.arena_start, node, dead)


def _walk(words: memoryview, start: int, n: int, dead: Callable[[object], None] | None) -> int:
    """itemCheck's recursion: the nodes of the tree at n; each node is passed (``dead``)
    before its subtrees, the right one first. Recursive like Go's (a tree is at most 31
    deep): compiled, the addresses stay native ints, where a work list would box each."""
    w = (n - start) >> 3
    left: int = load64(words, w)
    right: int = load64(words, w + 1)
    if dead is not None:
        dead(n)
    if not left:
        return 1
    return 1 + _walk(words, start, right, dead) + _walk(words, start, left, dead)


def drop_tree(h: Heap, node: int) -> None:
    """The program lets go of a tree it is not walking: declare each node dead."""
    if h.liveness == "lifetime" or h.observer is not None:
        item_check(h, node, drop=True)


def nodes_allocated(n: int) -> int:
    """How many nodes the program allocates for parameter n."""
    max_depth = max(6, n)
    total = (1 << (max_depth + 2)) - 1 + (1 << (max_depth + 1)) - 1
    for d in range(4, max_depth + 1, 2):
        total += (1 << (max_depth - d + 4)) * ((1 << (d + 1)) - 1)
    return total


def run_binarytrees(h: Heap, params: dict[str, int]) -> dict[str, int]:
    g = h.main
    build = program_ns(h, BUILD_NS)
    walk = program_ns(h, WALK_NS)
    compute = h.compute
    max_depth = max(6, params["depth"])

    def tree(depth: int) -> int:
        if build:
            compute(round(build * ((1 << (depth + 1)) - 1)))
        return bottom_up_tree(h, g, depth)

    def check(node: int, drop: bool) -> int:
        n = item_check(h, node, drop=drop)
        if walk:
            compute(round(walk * n))
        return n

    checked = check(tree(max_depth + 1), True)
    long_lived = tree(max_depth)
    slot = g.push(long_lived)
    for d in range(4, max_depth + 1, 2):
        for _ in range(1 << (max_depth - d + 4)):
            checked += check(tree(d), True)
    checked += check(long_lived, False)
    g.pop(len(g.stack) - slot)
    drop_tree(h, long_lived)
    return {"checked": checked}


BINARYTREES = Workload(
    name="binarytrees",
    summary="build, walk and drop binary trees (the benchmarks-game pattern)",
    module=__name__,
    params=(Param("depth", 14, "maximum tree depth (at least 6 is used)", 0, 30),),
    run=run_binarytrees,
    declares_deaths=True,
)
