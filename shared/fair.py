"""The fair this deployment serves, as data: `FAIR=ciie` (the default) or `FAIR=ciftis` picks a
profile under `shared/fairs/` holding what differs between fairs — editions and their days,
visitor kinds and who needs an invitation code, regions, unit categories, the personnel region
types and their ID documents, required unit fields, photo and document rules, badge types and
who may hold them, the review path, fees, notices and the delegations (or host organisations)
seeded into review. Services read their rules from here; no fair's constant lives in code.

A profile is checked against `ProfileSchema` when it is loaded: a broken profile stops the
process at start, never a request."""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .config import env

PROFILE_DIR = Path(__file__).resolve().parent / "fairs"
FAIRS = ("ciie", "ciftis")
DEFAULT_FAIR = "ciie"
LANGUAGES = ("zh", "en")
INVITATION_POLICIES = ("none", "optional", "required")  # a host / recommendation code at sign-up
HOST_ORGANISATION = "host_organisation"  # a badge holder that is no unit: a host organisation's own people


class Text(Schema):
    zh = fields.String(required=True, validate=validate.Length(min=1, max=400))
    en = fields.String(required=True, validate=validate.Length(min=1, max=400))


class EditionSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]+-[0-9]{4}$"))
    number = fields.Integer(required=True, validate=validate.Range(min=1))
    days = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d$"))


class VisitorKindSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,20}$"))
    label = fields.Nested(Text, required=True)
    badges = fields.Boolean(required=True)  # False: an online-only registration, no badge
    invitation = fields.String(required=True, validate=validate.OneOf(INVITATION_POLICIES))
    required_info = fields.List(fields.String(), required=True)
    # True: a person registering as themself (CIIE 非单位观众), identified by their own ID
    # document and with no unit category; False: a unit, by its USCC or registration number
    individual = fields.Boolean(load_default=False)


class LabelledSchema(Schema):
    id = fields.String(required=True)
    label = fields.Nested(Text, required=True)


class RegionTypeSchema(LabelledSchema):
    id_types = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class DocumentRuleSchema(Schema):
    kind = fields.String(load_default=None)
    label = fields.Nested(Text, load_default=None)
    formats = fields.List(fields.String(validate=validate.OneOf(("JPEG", "PNG"))), required=True)
    max_bytes = fields.Integer(required=True, validate=validate.Range(min=1))
    rule = fields.Nested(Text, load_default=None)


class PhotoRuleSchema(Schema):
    formats = fields.List(fields.String(validate=validate.OneOf(("JPEG", "PNG"))), required=True)
    min_bytes = fields.Integer(required=True, validate=validate.Range(min=0))
    max_bytes = fields.Integer(required=True, validate=validate.Range(min=1))
    min_size = fields.List(fields.Integer(), required=True, validate=validate.Length(equal=2))
    exact_size = fields.List(fields.Integer(), allow_none=True, validate=validate.Length(equal=2))
    aspect = fields.List(fields.Integer(), required=True, validate=validate.Length(equal=2))
    rule = fields.Nested(Text, required=True)


class BadgeTypeSchema(LabelledSchema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{2,10}$"))  # String(10) in every service
    print = fields.String(required=True, validate=validate.Length(min=1, max=30))  # the card's English line
    colour = fields.List(fields.Integer(validate=validate.Range(min=0, max=255)), required=True,
                         validate=validate.Length(equal=3))
    rank = fields.Integer(required=True)  # an upgrade only goes up
    free = fields.Boolean(required=True)
    quota = fields.Boolean(required=True)  # granted within the unit's quota (额度)
    holders = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class UnitFieldsSchema(Schema):
    company_types = fields.List(fields.String(), required=True)  # CIFTIS 公司类型; empty: not asked
    introduction = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)  # {"min", "max"}
    fortune500 = fields.Boolean(required=True)  # 是否为财富世界500强企业 asked


class ReviewSchema(Schema):
    automatic = fields.Boolean(required=True)  # 无感审核 against the business registry
    first_level = fields.String(required=True)  # the role that reviews first
    second_level = fields.String(required=True)  # the role that confirms
    personnel_review = fields.Boolean(required=True)  # people reviewed on both levels too (CIFTIS)
    uninvited_reviewer = fields.String(allow_none=True)  # who reviews a unit that came without a code


class OrganisationSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("delegation", HOST_ORGANISATION)))
    label = fields.Nested(Text, required=True)
    sub_label = fields.Nested(Text, allow_none=True)


class MessagingSchema(Schema):
    sign = fields.Nested(Text, required=True)  # an SMS's signature: 【进博会】
    subject = fields.Nested(Text, required=True)  # an email subject's prefix: 【进博会专业观众】


class DelegationSeedSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_id = fields.String(allow_none=True)
    recommendation_code = fields.String(allow_none=True)
    target = fields.Integer(required=True)


class PortalTextsSchema(Schema):
    """The portal's words for this fair: its home page's title, and who registers (the header)."""
    title = fields.Nested(Text, required=True)
    audience = fields.Nested(Text, required=True)
    venue = fields.Nested(Text, required=True)


class ProfileSchema(Schema):
    key = fields.String(required=True, validate=validate.OneOf(FAIRS))
    name = fields.Nested(Text, required=True)
    short_name = fields.Nested(Text, required=True)
    portal = fields.Nested(PortalTextsSchema, required=True)
    messaging = fields.Nested(MessagingSchema, required=True)
    current_edition = fields.String(required=True)
    editions = fields.List(fields.Nested(EditionSchema), required=True, validate=validate.Length(min=1))
    reuse_editions = fields.Integer(required=True, validate=validate.Range(min=0, max=5))
    organisation = fields.Nested(OrganisationSchema, required=True)
    visitor_kinds = fields.List(fields.Nested(VisitorKindSchema), required=True, validate=validate.Length(min=1))
    regions = fields.List(fields.Nested(LabelledSchema), required=True)
    categories = fields.Dict(keys=fields.String(validate=validate.OneOf(("domestic", "overseas"))),
                             values=fields.List(fields.String()), required=True)
    region_types = fields.List(fields.Nested(RegionTypeSchema), required=True)
    unit_fields = fields.Nested(UnitFieldsSchema, required=True)
    documents = fields.Dict(keys=fields.String(), values=fields.Nested(DocumentRuleSchema), required=True)
    host_licence = fields.Nested(DocumentRuleSchema, allow_none=True)
    photo = fields.Nested(PhotoRuleSchema, required=True)
    badge_types = fields.List(fields.Nested(BadgeTypeSchema), required=True, validate=validate.Length(min=1))
    exhibition_areas = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    review = fields.Nested(ReviewSchema, required=True)
    invitation_codes = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    fee_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    notices = fields.List(fields.Nested(Text), required=True)
    delegations = fields.List(fields.Nested(DelegationSeedSchema), required=True)

    @validates_schema
    def consistent(self, data: dict[str, Any], **_: Any) -> None:
        editions = [e["id"] for e in data["editions"]]
        if data["current_edition"] not in editions:
            raise ValidationError("not one of the editions", "current_edition")
        kinds = {k["id"] for k in data["visitor_kinds"]} | {HOST_ORGANISATION}
        for badge in data["badge_types"]:
            if not set(badge["holders"]) <= kinds:
                raise ValidationError(f"{badge['id']}: holders must be visitor kinds", "badge_types")
        if not any(not b["free"] for b in data["badge_types"]) and data["fee_fen"]:
            raise ValidationError("a fee with no paying badge type", "fee_fen")


class PublicEditionSchema(Schema):
    id = fields.String()
    number = fields.Integer()
    first_day = fields.String()
    last_day = fields.String()


class PublicVisitorKindSchema(Schema):
    id = fields.String()
    label = fields.Nested(Text)
    badges = fields.Boolean()
    invitation = fields.String()
    required_info = fields.List(fields.String())


class PublicBadgeTypeSchema(Schema):
    id = fields.String()
    label = fields.Nested(Text)
    colour = fields.List(fields.Integer())
    free = fields.Boolean()
    quota = fields.Boolean()
    holders = fields.List(fields.String())


class PublicReviewSchema(Schema):
    levels = fields.Integer()
    personnel_review = fields.Boolean()
    automatic = fields.Boolean()


class PublicFairSchema(Schema):
    """`GET /api/registration/fair`: the active profile's public part."""
    key = fields.String()
    name = fields.Nested(Text)
    short_name = fields.Nested(Text)
    edition = fields.Nested(PublicEditionSchema)
    previous_editions = fields.List(fields.Nested(PublicEditionSchema))
    organisation = fields.Nested(OrganisationSchema)
    visitor_kinds = fields.List(fields.Nested(PublicVisitorKindSchema))
    regions = fields.List(fields.Nested(LabelledSchema))
    categories = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    region_types = fields.List(fields.Nested(RegionTypeSchema))
    unit_fields = fields.Nested(UnitFieldsSchema)
    documents = fields.Dict(keys=fields.String(), values=fields.Nested(DocumentRuleSchema))
    host_licence = fields.Nested(DocumentRuleSchema, allow_none=True)
    photo = fields.Nested(PhotoRuleSchema)
    badge_types = fields.List(fields.Nested(PublicBadgeTypeSchema))
    exhibition_areas = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    fee_fen = fields.Integer()
    notices = fields.List(fields.Nested(Text))
    review = fields.Nested(PublicReviewSchema)


@dataclass(frozen=True)
class Edition:
    id: str
    number: int
    first_day: dt.date
    last_day: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.first_day + dt.timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]

    @property
    def days_text(self) -> str:
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"


class FairProfile:
    """One fair's rules, read-only. `data` is the checked profile; the methods answer the
    questions the services ask of it."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.key: str = data["key"]
        self.editions = [_edition(e) for e in data["editions"]]
        self.visitor_kinds: dict[str, dict[str, Any]] = {k["id"]: k for k in data["visitor_kinds"]}
        self.badge_types: dict[str, dict[str, Any]] = {b["id"]: b for b in data["badge_types"]}
        self.region_types: dict[str, tuple[str, ...]] = {r["id"]: tuple(r["id_types"]) for r in data["region_types"]}
        self.regions: tuple[str, ...] = tuple(r["id"] for r in data["regions"])
        self.photo: dict[str, Any] = data["photo"]
        self.documents: dict[str, dict[str, Any]] = data["documents"]
        self.review: dict[str, Any] = data["review"]
        self.fee_fen: int = data["fee_fen"]

    def name(self, language: str = "zh") -> str:
        return str(self.data["name"][language if language in LANGUAGES else "zh"])

    def short_name(self, language: str = "zh") -> str:
        return str(self.data["short_name"][language if language in LANGUAGES else "zh"])

    def text(self, path: str, language: str = "zh") -> str:
        """A {"zh", "en"} text of the profile by its dotted path ("messaging.sign")."""
        node: Any = self.data
        for part in path.split("."):
            node = node[part]
        return str(node[language if language in LANGUAGES else "zh"])

    # --- editions -------------------------------------------------------------------------
    def edition(self, edition_id: str | None = None) -> Edition:
        """The edition named, or the profile's current one; an edition the profile does not
        list (a deployment's FAIR_EDITION, say) is known by id only, its days taken from the
        current edition's."""
        wanted = edition_id or self.data["current_edition"]
        for e in self.editions:
            if e.id == wanted:
                return e
        current = self.edition()
        return Edition(wanted, current.number, current.first_day, current.last_day)

    def previous_editions(self, edition_id: str, count: int | None = None) -> list[Edition]:
        """The editions before `edition_id`, newest first (credential reuse reaches back
        `reuse_editions` of them)."""
        ids = [e.id for e in self.editions]
        if edition_id not in ids:
            return []
        before = list(reversed(self.editions[: ids.index(edition_id)]))
        return before[: count if count is not None else len(before)]

    def next_edition(self, edition_id: str) -> Edition | None:
        ids = [e.id for e in self.editions]
        at = ids.index(edition_id) if edition_id in ids else -1
        return self.editions[at + 1] if 0 <= at < len(ids) - 1 else None

    # --- units ----------------------------------------------------------------------------
    def visitor_kind(self, kind: str) -> dict[str, Any] | None:
        return self.visitor_kinds.get(kind)

    def categories(self, region: str) -> tuple[str, ...]:
        return tuple(self.data["categories"]["domestic" if region == "mainland" else "overseas"])

    def all_categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.data["categories"]["domestic"] + self.data["categories"]["overseas"]))

    def default_visitor_kind(self) -> str:
        return str(self.data["visitor_kinds"][0]["id"])

    def is_individual(self, visitor_kind: str) -> bool:
        """A kind whose accounts are people, not units (CIIE 非单位观众)."""
        kind = self.visitor_kinds.get(visitor_kind)
        return bool(kind and kind.get("individual"))

    def invitation_policy(self, visitor_kind: str) -> str:
        """"required", "optional" or "none": a host / recommendation code at sign-up."""
        kind = self.visitor_kinds.get(visitor_kind)
        return str(kind["invitation"]) if kind else "optional"

    def has_badges(self, visitor_kind: str) -> bool:
        """False for an online-only kind (CIFTIS 线上参展商): its people get no badge."""
        kind = self.visitor_kinds.get(visitor_kind)
        return bool(kind["badges"]) if kind else True

    def required_info(self, visitor_kind: str) -> tuple[str, ...]:
        kind = self.visitor_kinds.get(visitor_kind)
        return tuple(kind["required_info"]) if kind else ()

    def document_rule(self, category: str) -> dict[str, Any] | None:
        """The qualification document a category uploads, or None when it needs none."""
        return self.documents.get(category)

    # --- personnel and badges ---------------------------------------------------------------
    def badge_ids(self) -> tuple[str, ...]:
        return tuple(self.badge_types)

    def badges_for(self, holder: str) -> tuple[str, ...]:
        """The badge types a unit of this visitor kind (or a host organisation) may ask for."""
        kind = self.visitor_kinds.get(holder)
        if kind is not None and not kind["badges"]:
            return ()
        return tuple(b for b, t in self.badge_types.items() if holder in t["holders"])

    def default_badge(self, holder: str) -> str | None:
        badges = self.badges_for(holder)
        return badges[0] if badges else None

    def free_badges(self) -> tuple[str, ...]:
        return tuple(b for b, t in self.badge_types.items() if t["free"])

    def quota_badges(self) -> tuple[str, ...]:
        return tuple(b for b, t in self.badge_types.items() if t["quota"])

    def badge_rank(self, badge: str) -> int:
        return int(self.badge_types[badge]["rank"]) if badge in self.badge_types else -1

    def badge_label(self, badge: str, language: str = "zh") -> str:
        t = self.badge_types.get(badge)
        return str(t["label"][language if language in LANGUAGES else "zh"]) if t else badge

    def fee_for(self, badge: str) -> int:
        """What a badge costs its unit, in fen: the profile's fee, nothing for a free badge."""
        t = self.badge_types.get(badge)
        return 0 if t is None or t["free"] else self.fee_fen

    # --- the public part --------------------------------------------------------------------
    def public(self, edition_id: str | None = None) -> dict[str, Any]:
        """What anyone may read (`GET /api/registration/fair`): no seed data, no review roles."""
        e = self.edition(edition_id)
        d = self.data
        return {
            "key": self.key, "name": d["name"], "short_name": d["short_name"],
            "edition": _public_edition(e),
            "previous_editions": [_public_edition(p) for p in self.previous_editions(e.id)],
            "organisation": d["organisation"],
            "visitor_kinds": [{k: v[k] for k in ("id", "label", "badges", "invitation", "required_info")}
                              for v in d["visitor_kinds"]],
            "regions": d["regions"], "categories": d["categories"], "region_types": d["region_types"],
            "unit_fields": d["unit_fields"], "documents": d["documents"], "host_licence": d["host_licence"],
            "photo": d["photo"],
            "badge_types": [{k: b[k] for k in ("id", "label", "colour", "free", "quota", "holders")}
                            for b in d["badge_types"]],
            "exhibition_areas": d["exhibition_areas"], "fee_fen": d["fee_fen"], "notices": d["notices"],
            "review": {"levels": 2, "personnel_review": d["review"]["personnel_review"],
                       "automatic": d["review"]["automatic"]},
        }


def _public_edition(e: Edition) -> dict[str, Any]:
    return {"id": e.id, "number": e.number, "first_day": e.first_day.isoformat(), "last_day": e.last_day.isoformat()}


def _edition(e: dict[str, Any]) -> Edition:
    first, last = e["days"].split("..")
    return Edition(e["id"], e["number"], dt.date.fromisoformat(first), dt.date.fromisoformat(last))


def load_profile(key: str) -> FairProfile:
    if key not in FAIRS:
        raise ValueError(f"FAIR must be one of {', '.join(FAIRS)}, not {key!r}")
    raw = json.loads((PROFILE_DIR / f"{key}.json").read_text(encoding="utf-8"))
    try:
        return FairProfile(ProfileSchema().load(raw))
    except ValidationError as exc:
        raise ValueError(f"the {key} fair profile is broken: {exc.messages}") from None


@functools.cache
def _cached(key: str) -> FairProfile:
    return load_profile(key)


def fair_key() -> str:
    return (env("FAIR", DEFAULT_FAIR) or DEFAULT_FAIR).strip().lower()


def fair() -> FairProfile:
    """The active profile (`FAIR`, default ciie), loaded once per process."""
    return _cached(fair_key())


def all_badge_ids() -> tuple[str, ...]:
    """Every fair's badge types: what an event may carry, whatever the deployment."""
    return tuple(dict.fromkeys(b for key in FAIRS for b in _cached(key).badge_ids()))
