"""Go 1.8 (linux/amd64): the system of the seed.

Values from the go1.8 sources (malloc.go, mheap.go, mfixalloc.go,
mgcsweepbuf.go, mprof.go, mstats.go); see shared/reference/go1.8-facts.md.
Struct sizes are unsafe.Sizeof on amd64, counted field by field:

- mspan: 3 list pointers, startAddr, npages, stackfreelist, freeindex,
  nelems, allocCache, allocBits, gcmarkBits (11 words = 88 bytes);
  sweepgen u32 + divMul u16 + baseMask u16 (8); allocCount u16 and six
  bytes (8); elemsize, unusedsince, npreleased, limit, speciallock,
  specials (48): 152 bytes.
- mcache: next_sample (padded to 8), local_scan, tiny, tinyoffset,
  local_tinyallocs (40); alloc[67] (536); stackcache[4] of 16 bytes (64);
  local_nlookup, local_largefree, local_nlargefree (24);
  local_nsmallfree[67] (536): 1200 bytes.
- specialfinalizer: special header (16) + fn, nret, fint, ot: 48 bytes;
  specialprofile: header + bucket pointer: 24 bytes.
- bucket header: next, allnext, typ, hash, size, nstk: 48 bytes; memRecord:
  12 counters: 96 bytes.
"""

from __future__ import annotations

from goheap.profiles.base import Profile

GO18 = Profile(
    name="go1.8",
    page_shift=13,
    max_small_size=32768,
    tiny_size=16,
    tiny_size_class=2,
    heap_alloc_chunk=1 << 20,
    grow_round_bytes=64 << 10,
    max_mheap_list=1 << (20 - 13),
    mheap_map_total_bits=39,
    arena_hint=0x00C0 << 32,
    phys_page_size=4096,
    heap_bitmap_scale=8 * 8 // 2,
    bitmap_chunk=8192,
    fixalloc_chunk=16 << 10,
    persistent_chunk=256 << 10,
    persistent_max_block=64 << 10,
    cache_line_size=64,
    sizeof_mspan=152,
    sizeof_mcache=1200,
    sizeof_specialfinalizer=48,
    sizeof_specialprofile=24,
    gc_bits_chunk_bytes=64 << 10,
    gc_bits_header_bytes=16,
    sweep_block_entries=512,
    sweep_spine_init_cap=256,
    mem_profile_rate=512 * 1024,
    buck_hash_size=179999,
    sizeof_bucket_header=48,
    sizeof_memrecord=96,
    max_stack=32,
    memstats_by_size_len=61,
)
