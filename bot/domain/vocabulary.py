"""The words of the product: stages, roles and their aliases (SPEC section 2)."""

from enum import StrEnum

from states import Stage

__all__ = ["REQUIRED_ROLES", "ROLE_ALIASES", "Role", "Stage", "role_named"]


class Role(StrEnum):
    BUSINESS_OWNER = "business_owner"
    PRODUCT_MANAGER = "product_manager"
    DATA_ENGINEER = "data_engineer"
    MLOPS_ENGINEER = "mlops_engineer"
    EXECUTIVE_SPONSOR = "executive_sponsor"
    PILOT_LEAD = "pilot_lead"
    IT_OWNER = "it_owner"
    END_USER_REP = "end_user_rep"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def required(self) -> bool:
        return self in REQUIRED_ROLES


ROLE_LABELS = {
    Role.BUSINESS_OWNER: "business owner",
    Role.PRODUCT_MANAGER: "product manager",
    Role.DATA_ENGINEER: "data engineer",
    Role.MLOPS_ENGINEER: "MLOps engineer",
    Role.EXECUTIVE_SPONSOR: "executive sponsor",
    Role.PILOT_LEAD: "pilot lead",
    Role.IT_OWNER: "IT owner",
    Role.END_USER_REP: "end-user representative",
}

REQUIRED_ROLES = (Role.BUSINESS_OWNER, Role.PRODUCT_MANAGER, Role.DATA_ENGINEER, Role.MLOPS_ENGINEER)

ROLE_ALIASES = {
    "owner": Role.BUSINESS_OWNER,
    "pm": Role.PRODUCT_MANAGER,
    "data": Role.DATA_ENGINEER,
    "mlops": Role.MLOPS_ENGINEER,
    "sponsor": Role.EXECUTIVE_SPONSOR,
    "pilot": Role.PILOT_LEAD,
    "it": Role.IT_OWNER,
    "user-rep": Role.END_USER_REP,
}


def role_named(word: str) -> Role | None:
    """Return the role a person typed, by alias or full name (dashes or underscores), or None."""
    word = word.strip().lower()
    if word in ROLE_ALIASES:
        return ROLE_ALIASES[word]
    try:
        return Role(word.replace("-", "_"))
    except ValueError:
        return None
