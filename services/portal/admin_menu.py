"""The back office's menu: each desk registers its entries where its pages are defined,
with the roles that may open them (the same roles its views give `admin_required`; a unit
test checks that they agree). The header shows a signed-in admin the entries of their role.

    from ..admin_menu import menu_item
    menu_item("admin_finance.transfers", _l("Transfers"), (FINANCE,), order=300)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

MENU: list["MenuItem"] = []


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    text: Any  # a lazy gettext string: translated when the page renders
    roles: tuple[str, ...]
    order: int = 100
    description: Any = ""  # one line on the back office's home page
    when: Callable[[], bool] | None = None  # shown only when this says so (a desk of one fair's profile)

    def visible_to(self, role: str) -> bool:
        return role in self.roles and (self.when is None or self.when())


def menu_item(endpoint: str, text: Any, roles: tuple[str, ...], order: int = 100, description: Any = "",
              when: Callable[[], bool] | None = None) -> None:
    """Register an entry (idempotent: a module imported twice adds nothing)."""
    if any(item.endpoint == endpoint for item in MENU):
        return
    MENU.append(MenuItem(endpoint, text, tuple(roles), order, description, when))
    MENU.sort(key=lambda item: (item.order, item.endpoint))


def menu_for(role: str) -> list[MenuItem]:
    return [item for item in MENU if item.visible_to(role)]
