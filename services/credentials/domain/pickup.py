"""The on-site pick-up desk (现场领证): look a card up by the holder's name, the unit or the
badge number, compare the person with the photo, and hand it over — to the holder, or to
someone collecting on the holder's behalf (代领).

The seeds say only that cards are "collected once produced"; they give no rule for
collecting for someone else. The rules here are the desk's own, and what such a desk
needs so that a card cannot walk away with a stranger:
- only a card waiting at the desk (on-site pick-up, produced, not revoked) is handed over,
  once;
- a proxy is a colleague: someone of the same unit who holds a valid card of this
  edition, shown by its number (their own card, just collected or collected before) —
  the desk compares the proxy's face with the photo of *their* card;
- the holder cannot be their own proxy; a revoked or superseded card (the proxy's or the
  holder's) is refused;
- every hand-over records when, to whom (holder or proxy and the proxy's card) and which
  staff member handed it over."""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.errors import Conflict, DomainError, NotFound

from ..models import Credential
from .gate import photo_data_url
from .production import VALID, get_credential

HOLDER, PROXY = "holder", "proxy"
AT_DESK = ("ready_for_pickup", "collected")
MAX_RESULTS = 50
SCAN_LIMIT = 20_000  # on-site cards of one edition: searched in memory (names live in the card face)


def desk_view(credential: Credential, with_photo: bool = False) -> dict[str, Any]:
    view = {"credential_no": credential.credential_no, "person_id": credential.person_id,
            "unit_id": credential.unit_id, "name": credential.card.get("name", ""),
            "unit_name": credential.card.get("unit_name", ""),
            "id_number_masked": credential.card.get("id_number_masked"), "label": credential.label,
            "status": credential.status, "pickup_method": credential.pickup_method,
            "entry_dates": credential.entry_dates or [], "handed_over_at": credential.handed_over_at,
            "collected_by": credential.collected_by, "proxy_credential_no": credential.proxy_credential_no,
            "handed_over_by": credential.handed_over_by, "photo": None}
    if with_photo:
        view["photo"] = photo_data_url(credential)
    return view


def search(session: Session, query: str) -> list[dict[str, Any]]:
    """Cards for on-site pick-up whose number is the query, or whose holder's name or unit
    name contains it (case and spaces ignored); at most 50, waiting ones first. No photos in
    the list: the desk opens one card to compare a face."""
    text = "".join(query.split()).lower()
    if len(text) < 1:
        raise DomainError("query_required", "type a name, a unit or a badge number", "q")
    if text.isdigit() and len(text) >= 8:
        found = session.scalar(select(Credential).where(Credential.credential_no == text))
        return [desk_view(found)] if found is not None else []
    rows = session.scalars(select(Credential).where(or_(Credential.pickup_method == "onsite",
                                                        Credential.status.in_(AT_DESK)))
                           .order_by(Credential.queued_at).limit(SCAN_LIMIT))
    hits = [c for c in rows if text in "".join(str(c.card.get("name", "")).split()).lower()
            or text in "".join(str(c.card.get("unit_name", "")).split()).lower()]
    hits.sort(key=lambda c: (c.status != "ready_for_pickup", c.card.get("unit_name", ""), c.card.get("name", "")))
    return [desk_view(c) for c in hits[:MAX_RESULTS]]


def card_at_desk(session: Session, credential_no: str) -> dict[str, Any]:
    """One card with its holder's photo, and the unit's other cards waiting at the desk (a
    colleague may collect them on their behalf)."""
    credential = session.scalar(select(Credential).where(Credential.credential_no == credential_no))
    if credential is None:
        raise NotFound("credential", "credential_no")
    waiting = session.scalars(select(Credential).where(Credential.unit_id == credential.unit_id,
                                                       Credential.status == "ready_for_pickup",
                                                       Credential.id != credential.id)
                              .order_by(Credential.queued_at).limit(200))
    return {**desk_view(credential, with_photo=True), "unit_waiting": [desk_view(c) for c in waiting]}


def check_proxy(holder: Credential, proxy: Credential | None) -> Credential:
    """The proxy rule: a colleague of the holder's unit with a valid card of their own."""
    if proxy is None:
        raise NotFound("the proxy's badge", "proxy_credential_no", code="proxy_not_found")
    if proxy.id == holder.id or proxy.person_id == holder.person_id:
        raise DomainError("proxy_is_holder", "the holder collects their own card: choose 'the holder'",
                          "proxy_credential_no")
    if proxy.unit_id != holder.unit_id:
        raise Conflict("proxy_other_unit", "only a colleague of the same unit may collect on the holder's behalf",
                       "proxy_credential_no")
    if proxy.status not in VALID:
        raise Conflict("proxy_card_invalid", f"the proxy's own badge is {proxy.status}, not valid",
                       "proxy_credential_no")
    return proxy


def hand_over_at_desk(session: Session, credential_no: str, collector: str, proxy_credential_no: str | None,
                      staff: str) -> dict[str, Any]:
    """Hand one waiting card over to its holder or to a proxy, and record it."""
    credential = get_credential(session, credential_no)  # row-locked: two desks cannot both hand it over
    if credential.status == "collected":
        raise Conflict("already_collected", "this badge was already collected", "credential_no")
    if credential.status != "ready_for_pickup":
        raise Conflict("not_at_desk", f"the badge is {credential.status}, not waiting at the desk", "credential_no")
    proxy: Credential | None = None
    if collector == PROXY:
        if not proxy_credential_no:
            raise DomainError("proxy_required", "type the badge number of the person collecting",
                              "proxy_credential_no")
        proxy = check_proxy(credential, session.scalar(select(Credential).where(
            Credential.credential_no == proxy_credential_no.strip())))
    elif collector != HOLDER:
        raise DomainError("invalid_collector", "the card goes to the holder or a proxy", "collector")
    credential.status, credential.handed_over_at = "collected", utcnow()
    credential.collected_by = collector
    credential.proxy_credential_no = proxy.credential_no if proxy else None
    credential.handed_over_by = staff[:64]
    return desk_view(credential)
