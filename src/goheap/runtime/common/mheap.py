"""What the page heap does the same way in every version (mheap.go)."""

from __future__ import annotations

from goheap.runtime.common.arena import OS
from goheap.runtime.common.mstats import SysStat


def growAllspans(cap: int, os_: OS, other_sys: SysStat) -> int:
    """recordspan's growth of a full allspans array; returns the new capacity.

    The new array (64 KiB, or half again as large) is sysAlloc'd and the old
    one sysFree'd, both charged to other_sys. Unchanged since Go 1.8.
    """
    n = 64 * 1024 // 8
    if n < cap * 3 // 2:
        n = cap * 3 // 2
    os_.sysAlloc(n * 8, other_sys)
    if cap:
        os_.sysFree(0, cap * 8, other_sys)
    return n
