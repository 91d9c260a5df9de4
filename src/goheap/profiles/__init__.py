"""Fidelity profiles: which Go version's memory manager is modelled.

A profile is data (constants, struct sizes, the size-class table) plus, as
later versions arrive, strategy objects (page allocator, pacer, central
lists). Code elsewhere asks the profile; it never tests a version string.
"""

from __future__ import annotations

from goheap.errors import GoheapError
from goheap.profiles.base import Profile
from goheap.profiles.go18 import GO18

PROFILES: dict[str, Profile] = {GO18.name: GO18}

# Profiles whose size-class table exists but whose heap is not modelled yet.
SIZECLASS_ONLY: tuple[str, ...] = ("go1.27",)

DEFAULT_PROFILE = GO18.name


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise a one-line GoheapError."""
    try:
        return PROFILES[name]
    except KeyError:
        if name in SIZECLASS_ONLY:
            raise GoheapError(
                f"profile '{name}': only its size classes are modelled so far "
                f"(try: goheap sizeclasses --profile {name}); runnable: {', '.join(PROFILES)}"
            ) from None
        known = ", ".join([*PROFILES, *SIZECLASS_ONLY])
        raise GoheapError(f"unknown profile '{name}' (known: {known})") from None


__all__ = ["DEFAULT_PROFILE", "PROFILES", "Profile", "get_profile"]
