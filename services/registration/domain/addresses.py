"""Delivery addresses for credentials: at most five, exactly one default."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import new_id, utcnow
from shared.errors import Conflict, DomainError, NotFound

from ..models import DeliveryAddress, Unit


MAX_ADDRESSES = 5


def addresses(session: Session, unit_id: str) -> list[DeliveryAddress]:
    return list(session.scalars(select(DeliveryAddress).where(DeliveryAddress.unit_id == unit_id)
                                .order_by(DeliveryAddress.created_at, DeliveryAddress.id)))


def add_address(session: Session, unit: Unit, data: dict[str, Any]) -> DeliveryAddress:
    existing = addresses(session, unit.id)
    if len(existing) >= MAX_ADDRESSES:
        raise Conflict("too_many_addresses", f"at most {MAX_ADDRESSES} delivery addresses")
    make_default = bool(data.pop("is_default", False)) or not existing
    address = DeliveryAddress(id=new_id(), unit_id=unit.id, created_at=utcnow(), is_default=False, **data)
    session.add(address)
    if make_default:
        _set_default(existing + [address], address)
    return address


def default_address(session: Session, unit_id: str) -> dict[str, Any] | None:
    address = session.scalar(select(DeliveryAddress).where(DeliveryAddress.unit_id == unit_id,
                                                           DeliveryAddress.is_default.is_(True)))
    if address is None:
        return None
    return {"recipient": address.recipient, "phone": address.phone, "province": address.province,
            "city": address.city, "district": address.district, "detail": address.detail,
            "postcode": address.postcode}


def _set_default(all_addresses: list[DeliveryAddress], chosen: DeliveryAddress) -> None:
    for a in all_addresses:
        a.is_default = a is chosen


def update_address(session: Session, unit: Unit, address_id: str, changes: dict[str, Any]) -> DeliveryAddress:
    all_addresses = addresses(session, unit.id)
    address = next((a for a in all_addresses if a.id == address_id), None)
    if address is None:
        raise NotFound("address", "address_id")
    make_default = changes.pop("is_default", None)
    for key, value in changes.items():
        setattr(address, key, value)
    if make_default:
        _set_default(all_addresses, address)
    elif make_default is False and address.is_default:
        raise DomainError("default_required", "choose another default address instead", "is_default")
    return address


def delete_address(session: Session, unit: Unit, address_id: str) -> None:
    all_addresses = addresses(session, unit.id)
    address = next((a for a in all_addresses if a.id == address_id), None)
    if address is None:
        raise NotFound("address", "address_id")
    session.delete(address)
    rest = [a for a in all_addresses if a is not address]
    if address.is_default and rest:
        _set_default(rest, rest[0])
