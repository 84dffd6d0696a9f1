"""The one authorization choke point: pages, API, exports and later features all ask here.

A permission is granted by role; keepers and auditors hold it only inside their sites' subtrees.
"""

import logging

import sqlalchemy as sa
from flask import has_request_context, request

from inventory.errors import Forbidden, NotFound

SCOPED_ROLES = frozenset({"keeper", "auditor"})
EVERYONE = frozenset({"admin", "manager", "dispatcher", "keeper", "auditor", "viewer"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "sites.view": EVERYONE,
    # Keepers keep their sites' addresses and contacts current; what decides the norms (kind,
    # hazards, population figures), where dispatch looks (the tree, coordinates), whether a site
    # counts (active) and whether a partner's stock counts (the agreement, its verification) is
    # the bureau's: sites.manage, field by field in sites/services.py.
    "sites.edit": frozenset({"admin", "manager", "keeper"}),
    "sites.manage": frozenset({"admin", "manager"}),
    "catalog.view": EVERYONE,
    "catalog.edit": frozenset({"admin", "manager"}),
    "audit.view": frozenset({"admin", "manager"}),
    "users.manage": frozenset({"admin"}),
    "stock.view": EVERYONE,
    # Receiving (a delivery or a transfer) is for the people of the receiving site: what they
    # count in is what the books keep, and a shortfall stays on the transfer as a discrepancy.
    "stock.receive": frozenset({"admin", "manager", "keeper"}),
    "stock.issue": frozenset({"admin", "manager", "keeper"}),
    "stock.return": frozenset({"admin", "manager", "keeper"}),
    # The county duty office plans and sends transfers; keepers send them too.
    "stock.transfer": frozenset({"admin", "manager", "dispatcher", "keeper"}),
    # A count found more than the books: a keeper may raise them.
    "stock.adjust": frozenset({"admin", "manager", "keeper"}),
    # The permission follows the effect, not the reason the client names: whatever lowers the
    # books outside an issue, a loan's return or an approved stocktake (a downward adjustment
    # for any reason, a loan returned as lost) needs a manager (DESIGN.md: managers approve
    # write-offs).
    "stock.reduce": frozenset({"admin", "manager"}),
    # 冲销 says a record should never have been booked, whichever way the books then move: a
    # receipt or adjustment reversed, or a whole issue — its goods back on the shelf and the
    # recipient's signed record and loans void. That rewrites what the ledger says happened, so
    # it is a manager's correction; the keeper who made the mistake asks one.
    "stock.reverse": frozenset({"admin", "manager"}),
    "norms.edit": frozenset({"admin", "manager"}),
    # 盘点: the bureau (managers, auditors) opens a count; keepers and auditors count; only
    # reviewers see what the books expect (counting is blind); a manager approves, which is the
    # one way a count moves stock — never the only person who counted (stocktakes/services.py).
    "stocktakes.view": EVERYONE,
    "stocktakes.open": frozenset({"admin", "manager", "auditor"}),
    "stocktakes.count": frozenset({"admin", "manager", "keeper", "auditor"}),
    "stocktakes.review": frozenset({"admin", "manager", "auditor"}),
    "stocktakes.approve": frozenset({"admin", "manager"}),
    "stock.test": frozenset({"admin", "manager", "keeper"}),
    # 灾情调度: everyone in scope reads incidents and the requests of their sites; the duty
    # office (dispatchers) and managers open and edit incidents, plan and approve — approval
    # sends stock from anywhere, so it is never a keeper's; a keeper asks for goods for their
    # own sites (needs are reported by the town), and the bureau edits the relief kits.
    "dispatch.view": EVERYONE,
    "dispatch.manage": frozenset({"admin", "manager", "dispatcher"}),
    "dispatch.request": frozenset({"admin", "manager", "dispatcher", "keeper"}),
    "dispatch.kits": frozenset({"admin", "manager"}),
    # 三断: anyone signed in registers their own phone; an admin reports one lost; a manager
    # decides what an offline operation the server could not apply becomes.
    "devices.register": EVERYONE,
    "devices.manage": frozenset({"admin"}),
    "sync.resolve": frozenset({"admin", "manager"}),
}

denials = logging.getLogger("inventory.access")


def is_scoped(user) -> bool:
    return user.role in SCOPED_ROLES


def in_scope(user, site) -> bool:
    """True when ``site`` lies in the subtree of one of the user's sites (or the user is unscoped)."""
    if not is_scoped(user):
        return True
    return site is not None and any(site.within(own) for own in user.sites)


def can(user, permission: str, site=None) -> bool:
    """May ``user`` do ``permission``, at ``site`` when given?

    For scoped roles a permission without a site means "everywhere", which they never hold.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role not in PERMISSIONS[permission]:
        return False
    return in_scope(user, site) if is_scoped(user) else True


def can_somewhere(user, permission: str) -> bool:
    """May ``user`` do ``permission`` at one site at least? (Whether to offer the action at all.)"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.role in PERMISSIONS[permission] and (not is_scoped(user) or bool(user.sites))


def authorize_somewhere(user, permission: str) -> None:
    """Raise Forbidden (logged) unless the user may do ``permission`` at one site at least."""
    if not can_somewhere(user, permission):
        authorize(user, permission)


def authorize(user, permission: str, site=None, *, message=None) -> None:
    """Raise Forbidden (with ``message``, if given: what to do instead), and log the denial,
    unless ``user`` may do ``permission`` at ``site``."""
    if can(user, permission, site):
        return
    denials.warning(
        "denied user=%s role=%s permission=%s site=%s endpoint=%s",
        getattr(user, "username", None), getattr(user, "role", None), permission,
        getattr(site, "code", None), request.path if has_request_context() else "cli",
    )
    raise Forbidden(message)


def authorize_or_hide(user, permission: str, site) -> None:
    """Like authorize, but a refusal looks exactly like "not found": a label of another site
    must not even reveal that it exists (QUALITY.md S13). The denial is still logged."""
    try:
        authorize(user, permission, site)
    except Forbidden:
        raise NotFound() from None


def scope_condition(user, path_column):
    """A SQL condition restricting ``path_column`` to the user's subtrees, or None for everywhere."""
    if not is_scoped(user):
        return None
    if not user.sites:
        return sa.false()
    return sa.or_(*(path_column.startswith(own.path, autoescape=True) for own in user.sites))


def restrict_to_scope(query, user, path_column):
    """``query`` limited to the user's subtrees by ``path_column`` (unchanged for everywhere)."""
    if (condition := scope_condition(user, path_column)) is not None:
        query = query.where(condition)
    return query


class CommandLine:
    """The actor behind command-line work: whoever runs it already holds the server."""

    username = "cli"
    role = "admin"
    is_authenticated = True
    sites = ()


COMMAND_LINE = CommandLine()
