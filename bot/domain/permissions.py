"""Who may do what to an initiative, as plain functions over ids and role maps."""

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.vocabulary import Role


def is_admin(user_id: str, admins: frozenset[str]) -> bool:
    """Steward admins are named in the settings, not by a role on an initiative."""
    return user_id in admins


def may_manage_roles(user_id: str, admins: frozenset[str], roles: dict[str, str]) -> bool:
    """Admins and the initiative's business owner staff the initiative."""
    return is_admin(user_id, admins) or roles.get(Role.BUSINESS_OWNER) == user_id


def may_edit_records(user_id: str, admins: frozenset[str], roles: dict[str, str]) -> bool:
    """Role holders and admins keep an initiative's records (KPIs, readiness, governance, deviations)."""
    return is_admin(user_id, admins) or user_id in roles.values()


def roles_held(user_id: str, roles: dict[str, str]) -> list[Role]:
    """The roles a person holds on an initiative, in the order of its role map."""
    return [Role(role) for role, holder in roles.items() if holder == user_id]


@dataclass(frozen=True)
class Acting:
    """The role under which a person acts; `for_vacant` when an admin acts for a role nobody holds."""

    role: Role
    for_vacant: bool = False


def acting_role(user_id: str, admins: frozenset[str], roles: dict[str, str],
                allowed: Sequence[Role]) -> Acting | None:
    """The role under which a person may do what `allowed` roles do, or None.

    A holder of an allowed role acts as that role. Otherwise a Steward admin may act for the first
    allowed role that is vacant, so a vacancy never freezes a review or a sign-off; the record, the
    message and the audit say so. Separation of duties is the caller's rule: acting for a role makes
    the admin that person (one person never gives both scope-expansion approvals, acting or not).
    """
    held = roles_held(user_id, roles)
    mine = next((role for role in allowed if role in held), None)
    if mine is not None:
        return Acting(mine)
    if is_admin(user_id, admins):
        vacant = next((role for role in allowed if role not in roles), None)
        if vacant is not None:
            return Acting(vacant, for_vacant=True)
    return None
