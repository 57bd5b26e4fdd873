"""Who may do what to an initiative, as plain functions over ids and role maps."""

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
