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


def test_an_admin_acts_for_a_vacant_role_and_only_for_a_vacant_one():
    owner_vacant = {Role.PRODUCT_MANAGER: "UPM"}
    acting = permissions.acting_role("UADMIN", ADMINS, owner_vacant, (Role.BUSINESS_OWNER,))
    assert acting == permissions.Acting(Role.BUSINESS_OWNER, for_vacant=True)
    # A held role is never taken over, and only admins act for anyone.
    assert permissions.acting_role("UADMIN", ADMINS, ROLES, (Role.BUSINESS_OWNER,)) is None
    assert permissions.acting_role("UPM", ADMINS, owner_vacant, (Role.BUSINESS_OWNER,)) is None
    # A holder acts as themselves, even when they are an admin too.
    assert permissions.acting_role("UOWNER", ADMINS, ROLES, (Role.BUSINESS_OWNER,)) == \
        permissions.Acting(Role.BUSINESS_OWNER)
    assert permissions.acting_role("UADMIN", ADMINS | {"UPM"}, owner_vacant, (Role.PRODUCT_MANAGER,)) is None
    assert permissions.acting_role("UPM", ADMINS | {"UPM"}, owner_vacant, (Role.PRODUCT_MANAGER,)) == \
        permissions.Acting(Role.PRODUCT_MANAGER)
