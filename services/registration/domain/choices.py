"""The vocabularies of registration, read from the fair's profile at call time: visitor kinds,
regions, unit categories per region, personnel region types and the ID documents each
accepts, exhibition areas. `profile_choice` makes a schema validator of one of them (schemas
are built at import; the choice is asked of the active profile when a request is loaded)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from marshmallow import ValidationError

from shared.fair import FairProfile, fair


def visitor_kinds(profile: FairProfile | None = None) -> tuple[str, ...]:
    return tuple((profile or fair()).visitor_kinds)


def regions(profile: FairProfile | None = None) -> tuple[str, ...]:
    return (profile or fair()).regions


def categories(region: str, profile: FairProfile | None = None) -> tuple[str, ...]:
    return (profile or fair()).categories(region)


def region_types(profile: FairProfile | None = None) -> tuple[str, ...]:
    return tuple((profile or fair()).region_types)


def id_types(region_type: str, profile: FairProfile | None = None) -> tuple[str, ...]:
    """The ID document types personnel of this region type use (none for an unknown one)."""
    return (profile or fair()).region_types.get(region_type, ())


def all_id_types(profile: FairProfile | None = None) -> tuple[str, ...]:
    return tuple(sorted({t for types in (profile or fair()).region_types.values() for t in types}))


def exhibition_areas(profile: FairProfile | None = None) -> tuple[str, ...]:
    return tuple((profile or fair()).data["exhibition_areas"])


def profile_choice(choices: Callable[[FairProfile], Iterable[str]]) -> Callable[[Any], None]:
    """A marshmallow validator: the value is one of `choices` of the active profile (as
    validate.OneOf words it)."""
    def one_of(value: Any) -> None:
        allowed = tuple(choices(fair()))
        if value not in allowed:
            raise ValidationError(f"Must be one of: {', '.join(allowed)}.")
    return one_of


def choice_metadata(choices: Callable[[FairProfile], Iterable[str]]) -> dict[str, Any]:
    """The OpenAPI `enum` of a profile choice, as the deployment's profile has it (none when
    the profile asks nothing of it: an empty enum is no valid OpenAPI)."""
    allowed = list(choices(fair()))
    return {"enum": allowed} if allowed else {}
