# ruff: noqa
"""Names the dead-code check (vulture, in .ci/run) must not report: each kept on purpose.

vulture reads this file as code that uses these names; it is never run.
Every entry says why nothing in src/ uses it. A name here covers every
definition of that name, wherever a module moves. Before adding one, ask
whether the definition should go instead: a Go function the model does
not call, used only by a test, goes with its test unless it is part of
what a user inspects.
"""

_ = object()

# --- signatures: parameters a protocol or a caller fixes --------------------------------
exc_type, exc, tb  # __exit__(self, exc_type, exc, tb): the context-manager protocol
param  # click's option callback(ctx, param, value), in cli.py
bucket  # _no_profile(bucket, size): stands in for the profiling hook it replaces

# --- commands and public API that src/ does not call itself ----------------------------
compare  # `goheap compare`: a click command, called by click
_.without_runtime_allocs  # profiles.go127: documented in docs/model.md for users' tests
_.go_program  # Workload: the path of the workload's Go twin under tests/oracle
nodes_allocated  # workloads.binarytrees: the exact allocation count, for users and tests
_.roundupsize  # SizeClasses: Go's roundupsize, the public size-class API
_.obj_index  # SizeClasses: an object's index in its span, the public size-class API
_.help  # workloads Param: each parameter's description, kept with its definition
_.meaning  # validate Metric: what each compared figure means, kept with its definition
_.sim_value  # validate Row: written to the JSON report by dataclasses.asdict
_.purges  # trace Recorder/Replayer: how often the id map was purged, read by tests
_.writeBarrierPointers  # Collector: the pointers the write barrier shaded, the clock's count
_.apply  # trace Replayer: records from any iterable (replay() takes a reader's batches)
TUNED  # validate.heavy: the tuned-on case names, for benchmarks/heavy_table.py and tests

# --- inspection: state a user (and the tests) read; src/ only writes it -----------------
_._fed  # trace TraceReader: bytes read so far, read by tests (no reading ahead)
_.jumps  # profiles.fastforward: fast-forwards made, read by tests and bench_idle.py
_.spanSets  # go1.27 mcentral: all four span sets, for inspection
_.freePages, _.scavengedPages  # go1.27 pageAlloc and pageCache: page counts, for inspection
_.tryChunkOf  # go1.27 pageAlloc: a chunk's bitmaps, or None if never mapped
sumStart, sumEnd  # go1.27 pallocSum.start/end: read a packed summary
_.clearRange  # go1.27 pageBits.clearRange: completes set/clear, tests build states with it
_.pointer_words, _.hasPointers  # go1.8 heap bitmap: read an object's pointer words
_.bgscavengeStep  # go1.27: one turn of bgscavenge's loop; the limiter test drives it
# go1.27 GC controller: Go's packed idle-mark-worker counter, whole; the model sets its
# limit (setMaxIdleMarkWorkers) and tests it with Go's TestIdleMarkWorkerCount.
_.addIdleMarkWorker, _.needIdleMarkWorker, _.removeIdleMarkWorker

# --- Go's fields, kept as the runtime keeps them (written by the model, for inspection) --
_.nbgsweep, _.npausesweep  # mgc: sweep counters (work.nbgsweep/npausesweep)
_.objects_marked  # GCCycle: objects marked in the cycle
_.backgroundTime, _.turns, _.releasedBg, _.releasedEager  # the scavenger's accounting
_.errOverflow, _.inputOverflow  # the scavenger's PI controller (piController)
_.printControllerReset, _.targetCPUFraction  # scavenger state (mgcscavenge.go)
_.schedIdleTime  # gcCPULimiter (mgclimit.go)
_.summaryMappedReady  # pageAlloc (mpagealloc.go)
_.pinnerBits, _.isUserArenaChunk  # go1.27 mspan fields
_.words_per_elem  # go1.27 marking: words scanned per element
_.fractionalMarkWorkersNeeded  # go1.8 pacer (gcControllerState)
_.sysalloc_calls, _.arenas_mapped, _.arena_reserved  # the address space's accounting
_.write_ns  # CostModel: a pointer store's cost, a field users may set

# runtime.MemStats and its BySize entries: Go's field names, read by users and to_dict.
Alloc, TotalAlloc, Lookups, HeapIdle, HeapReleased, StackInuse, MSpanInuse, MCacheInuse
NextGC, LastGC, PauseTotalNs, PauseNs, PauseEnd, NumGC, NumForcedGC, GCCPUFraction
EnableGC, DebugGC, BySize, Size

# --- Go's constants, kept with the rest of their group ------------------------------------
gcForceMode  # gcBackgroundMode / gcForceMode / gcForceBlockMode (go1.8 mgc.go)
spanAllocWorkBuf  # spanAllocHeap / spanAllocStack / spanAllocWorkBuf (mheap.go)
bitPointerAll, bitScanAll  # go1.8 heap bitmap constants (mbitmap.go)
gcCreditSlack, gcAssistTimeSlack  # go1.27 assist constants (mgcpacer.go)
PERSISTENT_MAX_BLOCK, ARENA_HINT_STEP  # go1.27 malloc.go constants

# --- dead, left for the runtime restructuring (issue 13) --------------------------------
# Removing these also edits an import line that the move to runtime/common, go18 and
# go127 rewrites; they go there.
_.arena_count  # go1.27 MHeap (drops the HEAP_ARENA_BYTES import)
specials_of  # runtime/specials.py (drops the MSpan import)
