"""The modelled Go runtime: one package per Go version, and what they share.

Layout
------
``common/``
    What both versions do the same way, and nothing version-specific: the
    address space and Sys accounting (``arena``), ``mfixalloc`` (fixalloc
    and persistentalloc), ``gcbits``, ``gotype``, the virtual clock and the
    cost model (``clock``), specials, the base classes the versions extend
    (``mspan.MSpan``, ``mprof.MProf``, ``mfinal.Finalizers``), the shared
    records (``mstats.MemStats``, ``mgc.GCCycle``) and the functions whose
    logic is the same in Go 1.8 and Go 1.27 (``malloc.nextFreeFast``,
    ``mgcsweep.sweepSpecials``, ...). ``facade`` and ``heapview`` are what
    the ``Heap`` facade and the shared code ask of either version.
``go18/``, ``go127/``
    One Go version each, whole: where the versions differ, each package has
    its own module. A version package imports from ``common`` (and
    ``goheap.errors``), never from the other version; ``common`` imports
    neither. Code outside ``runtime`` never asks which version it runs: it
    calls a method both versions implement (``MSpan.inUse()``, ...).
    Nothing in ``runtime`` imports the layers above it (the ``Heap``
    facade, ``goheap.profiles``, the commands and reports): a profile builds
    a version's runtime whole, passing each part what it needs; where Go's
    files call each other's functions the model passes the runtime itself
    (``mheap.Hooks``) or the program (``facade.Program``) at construction.

Naming
------
- **Modules**: one module per Go source file, named after it: Go 1.8's
  ``mbitmap.go`` is ``go18/mbitmap.py``, ``mgcscavenge.go`` is
  ``go127/mgcscavenge.py``. Exceptions, each saying so in its docstring:
  Go 1.8's pacer (``go18/mgcpacer.py``; in Go 1.8 it lived in ``mgc.go``),
  Go 1.27's heap arenas (``go127/marena.py``: ``heapArena`` and the arena
  hints of ``malloc.go`` and ``mheap.go``), the checkers (``mcheck.py``,
  no Go file), each version's constants (``profile.py``: the record a
  profile carries), and ``common``'s modules for a piece Go spreads over files
  (``arena``, ``gcbits``, ``gotype``, ``specials``) or the model's own
  machinery (``clock``, ``facade``, ``heapview``).
- **Identifiers** are Go's: types keep Go's name with a capital
  (``mheap`` -> ``MHeap``, ``gcControllerState`` -> ``GCControllerState``;
  the instance is named as Go's variable, ``gcController``), functions,
  fields and constants keep Go's spelling (``nextFreeFast``, ``allocCache``,
  ``mSpanInUse``). A class is not suffixed with its version: the package
  says it (``go127.mprof.MProf``). A version class that extends a common
  base of the same name reaches it through the module:
  ``class MSpan(mspan.MSpan)`` after ``from goheap.runtime.common import
  mspan``.
- **Leading underscores**: Go marks unexported constants with ``_``
  (``_MSpanInUse``, ``_KindSpecialFinalizer``); Python reads ``_`` as
  private to the module. So a Go ``_`` name keeps its underscore only while
  no other module uses it; a name another module imports drops it, in its
  own module too (``MSpanInUse``, ``KindSpecialFinalizer``). No module
  imports a ``_``-prefixed name from another; ``tests/test_layering.py``
  checks that, and the package rules above.
"""
