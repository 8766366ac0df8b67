"""The fair whose rules review applies. Domain functions take a profile (tests pass
`load_profile("ciftis")`); without one they read the active profile here, per call, so a
test may also swap this module's `fair` for one service alone."""
from __future__ import annotations

from shared.fair import HOST_ORGANISATION, FairProfile, fair


def profile_of(given: FairProfile | None = None) -> FairProfile:
    return given if given is not None else fair()


def hosts_organisations(profile: FairProfile) -> bool:
    """The fair's top-level organisations are host organisations (承办机构, CIFTIS), which
    register and are approved by the organising committee."""
    return bool(profile.data["organisation"]["kind"] == HOST_ORGANISATION)
