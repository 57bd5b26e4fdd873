"""Who may do what to an initiative, as plain data."""

from bot.domain import permissions
from bot.domain.vocabulary import Role

ADMINS = frozenset({"UADMIN"})
ROLES = {Role.BUSINESS_OWNER: "UOWNER", Role.PRODUCT_MANAGER: "UPM", Role.EXECUTIVE_SPONSOR: "UOWNER"}


def test_admins_and_the_business_owner_staff_an_initiative():
    assert permissions.may_manage_roles("UADMIN", ADMINS, ROLES)
    assert permissions.may_manage_roles("UOWNER", ADMINS, ROLES)
    assert not permissions.may_manage_roles("UPM", ADMINS, ROLES)
    assert not permissions.may_manage_roles("UOTHER", ADMINS, {})


def test_role_holders_and_admins_keep_the_records():
    assert permissions.may_edit_records("UPM", ADMINS, ROLES)
    assert permissions.may_edit_records("UADMIN", ADMINS, {})
    assert not permissions.may_edit_records("UOTHER", ADMINS, ROLES)
    assert not permissions.may_edit_records("UOTHER", frozenset(), {})


def test_a_person_may_hold_several_roles_or_none():
    assert permissions.roles_held("UOWNER", ROLES) == [Role.BUSINESS_OWNER, Role.EXECUTIVE_SPONSOR]
    assert permissions.roles_held("UOTHER", ROLES) == []
    assert permissions.is_admin("UADMIN", ADMINS) and not permissions.is_admin("UOWNER", ADMINS)
