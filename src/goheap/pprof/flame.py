"""A heap profile's stacks as one call tree of in-use bytes, for a flame graph.

Each sample's stack (leaf first in the profile) is walked from the root
(``runtime.main``, ``runtime.goexit``... as Go records them) to the
allocating function, and its ``inuse_space`` and ``inuse_objects`` are
added to every node on the way, so a node holds what is in use below it
(pprof's *cum*) and its children split that. Frames are merged by function
name, pprof's default granularity (``-granularity=functions``): the lines
of one function under one parent are one node. Samples with nothing in
use are left out. The tree is plain data (``dict``) for the report layer.
"""

from __future__ import annotations

from typing import Any

from goheap.pprof.analyze import NO_STACK
from goheap.pprof.model import HeapProfile

#: The root's name, as pprof's flame graph calls it.
ROOT = "root"


def _node(name: str, file: str) -> dict[str, Any]:
    return {"name": name, "file": file, "bytes": 0, "objects": 0, "children": {}}


def flame_tree(profile: HeapProfile) -> dict[str, Any]:
    """The root of the in-use call tree: ``{"name", "file", "bytes", "objects", "children"}``.

    ``children`` is a list, the largest (bytes) first, then by name.
    """
    root = _node(ROOT, "")
    for s in profile.samples:
        if s.inuse_space <= 0:
            continue
        node = root
        node["bytes"] += s.inuse_space
        node["objects"] += s.inuse_objects
        frames = reversed(s.stack) if s.stack else ()
        names = [(f.function, f.file) for f in frames] or [(NO_STACK, "")]
        for name, file in names:
            children = node["children"]
            child = children.get(name)
            if child is None:
                child = children[name] = _node(name, file)
            child["bytes"] += s.inuse_space
            child["objects"] += s.inuse_objects
            node = child
    return _ordered(root)


def _ordered(root: dict[str, Any]) -> dict[str, Any]:
    """Children dicts turned into lists, largest first (iteratively: stacks can be deep)."""
    todo = [root]
    while todo:
        node = todo.pop()
        kids = sorted(node["children"].values(), key=lambda c: (-c["bytes"], c["name"]))
        node["children"] = kids
        todo.extend(kids)
    return root
