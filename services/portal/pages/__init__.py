"""The portal's pages, one blueprint per area."""
from __future__ import annotations

from .account import bp as account
from .admin import bp as admin
from .admin_accounts import bp as admin_accounts
from .admin_audit import bp as admin_audit
from .admin_host import bp as admin_host
from .admin_personnel import bp as admin_personnel
from .admin_quotas import bp as admin_quotas
from .admin_review import bp as admin_review
from .admin_stats import bp as admin_stats
from .badges import bp as badges
from .finance import bp as admin_finance
from .gate import bp as admin_gate
from .operations import bp as admin_operations
from .orders import bp as orders
from .personnel import bp as personnel
from .public import bp as public
from .sandbox import bp as sandbox
from .unit import bp as unit

BLUEPRINTS = (public, account, unit, personnel, orders, badges, sandbox,
              # the back office (/admin/…): one blueprint per desk
              admin, admin_host, admin_review, admin_personnel, admin_quotas, admin_stats, admin_audit, admin_accounts,
              admin_finance, admin_operations, admin_gate)
