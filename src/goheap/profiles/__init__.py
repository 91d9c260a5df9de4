"""Fidelity profiles: which Go version's memory manager is modelled.

A profile is data (constants, struct sizes, the size-class table) and a
strategy: ``build_runtime`` assembles that version's runtime for a ``Heap``
(see ``goheap.profiles.base``). Code elsewhere asks the profile; it never
tests a version string.
"""

from __future__ import annotations

from goheap.errors import GoheapError
from goheap.profiles.base import Profile, Runtime, RuntimeOptions
from goheap.profiles.go18 import GO18
from goheap.profiles.go127 import GO127

PROFILES: dict[str, Profile] = {GO18.name: GO18, GO127.name: GO127}

DEFAULT_PROFILE = GO18.name


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise a one-line GoheapError."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise GoheapError(f"unknown profile '{name}' (known: {known})") from None


__all__ = ["DEFAULT_PROFILE", "PROFILES", "Profile", "Runtime", "RuntimeOptions", "get_profile"]
