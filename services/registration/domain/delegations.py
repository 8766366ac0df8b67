"""The (sub-)delegations units may join: a projection of review's DelegationChanged events."""
from __future__ import annotations


from sqlalchemy import select
from sqlalchemy.orm import Session


from ..models import DelegationView


def delegations(session: Session) -> list[DelegationView]:
    return list(session.scalars(select(DelegationView).where(DelegationView.active.is_(True))
                                .order_by(DelegationView.id)))
