"""Who may do what to an initiative, as plain functions over ids and role maps."""

from bot.domain.vocabulary import Role


def is_admin(user_id: str, admins: frozenset[str]) -> bool:
    return user_id in admins


def may_manage_roles(user_id: str, admins: frozenset[str], roles: dict[str, str]) -> bool:
    """Admins and the initiative's business owner staff the initiative."""
    return is_admin(user_id, admins) or roles.get(Role.BUSINESS_OWNER) == user_id


def roles_held(user_id: str, roles: dict[str, str]) -> list[Role]:
    return [Role(role) for role, holder in roles.items() if holder == user_id]
