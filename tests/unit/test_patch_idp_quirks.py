"""PATCH requests as identity providers document sending them, including where they deviate from RFC 7644.

Each test names the IdP and the document its request body is copied from:

* ENTRA-SCIM: Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint",
  https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
  (section "User operations" / "Group Operations").
* ENTRA-KNOWN-ISSUES: Microsoft Entra ID, "Known issues and resolutions with SCIM 2.0 protocol
  compliance of the Microsoft Entra user provisioning service",
  https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
  ("Without feature flag" is what Entra sends by default; "With feature flag" is ``aadOptscim062020``).
* ENTRA-MANAGER: Entra sends the enterprise manager as a bare id (MicrosoftDocs/azure-docs#69234,
  apache/directory-scimple#1242).
* OKTA-SCIM2: Okta, "Okta and SCIM Version 2.0",
  https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
  ("Update a specific User (PATCH)", "Update a specific Group name", "Update specific Group membership").
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import InvalidSyntax, InvalidValue, Mutability, NoTarget
from core.patch import PatchResult, apply_patch
from core.schema import ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, GROUP, GROUP_SCHEMA, USER, USER_SCHEMA

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMAS = (USER, ENTERPRISE_USER)

# The user of ENTRA-SCIM's "Create User" response.
ENTRA_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA],
    "id": "48af03ac28ad4fb88478",
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "active": True,
    "emails": [
        {
            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
            "type": "work",
            "primary": True,
        }
    ],
    "meta": {"resourceType": "User", "created": "2018-03-27T19:59:26.000Z"},
}

# The group of OKTA-SCIM2's "Retrieve specific Groups" response, with a second member.
OKTA_GROUP: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA],
    "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
    "displayName": "Test SCIMv2",
    "members": [
        {"value": "b1c794f24f4c49f4b5d503a4cb2686ea", "display": "SCIM 2 Group A"},
        {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "test.user@okta.local"},
    ],
    "meta": {"resourceType": "Group"},
}

# The group of ENTRA-SCIM's "Update Group [Add Members]" / "[Remove Members]", with two members.
ENTRA_GROUP: dict[str, Any] = {
    "schemas": [GROUP_SCHEMA],
    "id": "a99962b9f99d4c4fac67",
    "displayName": "displayName",
    "members": [{"value": "f648f8d5ea4e4cd38e9c"}, {"value": "u1091"}],
}


def patch(resource: dict[str, Any], body: dict[str, Any], schemas: Any = USER_SCHEMAS) -> PatchResult:
    before = copy.deepcopy(resource)
    result = apply_patch(resource, body, schemas)
    assert resource == before
    return result


def member_ids(result: PatchResult) -> list[str]:
    return [member["value"] for member in result.resource.get("members", [])]


# --- Microsoft Entra ID: users ---------------------------------------------------------------------


def test_entra_update_user_multi_valued_properties() -> None:
    # ENTRA-SCIM, "Update User [Multi-valued properties]": capitalised "Replace", a valuePath.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["emails"] == [
        {"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}
    ]
    assert result.resource["name"]["familyName"] == "updatedFamilyName"
    assert result.changed == {"emails", "name"}


def test_entra_replace_of_a_work_email_the_user_does_not_have_creates_it() -> None:
    # ENTRA-SCIM's request sent to a user without a work email. RFC 7644 §3.5.2.3 would answer
    # "noTarget"; Entra expects the email to be created.
    user = {**ENTRA_USER, "emails": [{"value": "home@example.com", "type": "home"}]}
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"}
        ],
    }
    result = patch(user, body)
    assert result.resource["emails"] == [
        {"value": "home@example.com", "type": "home"},
        {"type": "work", "value": "updatedEmail@microsoft.com"},
    ]


def test_entra_add_of_a_work_email_creates_it() -> None:
    # The creation also holds for "Add" through the valuePath of Entra's mapping (RFC 7644 §3.5.2.1:
    # "If the target location does not exist, the attribute and value are added").
    user = {key: value for key, value in ENTRA_USER.items() if key != "emails"}
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@x.com"}],
    }
    assert patch(user, body).resource["emails"] == [{"type": "work", "value": "w@x.com"}]


@pytest.mark.parametrize(
    "path", ['emails[type eq "work" and primary eq true].value', 'emails[type ne "work"].value']
)
def test_a_filter_no_idp_maps_creates_nothing(path: str) -> None:
    # Creation is for Entra's `type eq "X"` mappings only; `and primary eq true` used to create a
    # value too, which no IdP documents sending. RFC 7644 §3.5.2.3: no match is "noTarget".
    user = {key: value for key, value in ENTRA_USER.items() if key != "emails"}
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": path, "value": "w@x.com"}]}
    with pytest.raises(NoTarget):
        patch(user, body)


def test_entra_selection_that_cannot_create_is_still_no_target() -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": 'emails[value eq "x@example.com"].type', "value": "work"}],
    }
    with pytest.raises(NoTarget):
        patch(ENTRA_USER, body)


def test_entra_update_user_single_valued_properties() -> None:
    # ENTRA-SCIM, "Update User [Single-valued properties]".
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "userName",
                "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
            }
        ],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    assert result.changed == {"userName"}


def test_entra_disable_user() -> None:
    # ENTRA-SCIM, "Disable User": "Operations" before "schemas", "Replace" capitalised.
    body = {
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["active"] is False
    assert result.changed == {"active"}


def test_entra_disable_user_with_a_string_boolean() -> None:
    # ENTRA-KNOWN-ISSUES, "Requests made to disable users", without feature flag: "value": "False".
    # The engine does not coerce types (the normaliser does) but knows "False" is a change from true...
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["active"] == "False"
    assert result.changed == {"active"}
    # ...and no change on a user already disabled, so the version is not bumped.
    disabled = {**ENTRA_USER, "active": False}
    again = patch(disabled, body)
    assert again.resource == disabled
    assert again.changed == frozenset()


def test_entra_add_a_single_value_string_attribute() -> None:
    # ENTRA-KNOWN-ISSUES, "Requests to add a single-value string attribute", without feature flag.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "nickName", "value": "Babs"}],
    }
    assert patch(ENTRA_USER, body).resource["nickName"] == "Babs"


def test_entra_replace_multiple_attributes_without_feature_flag() -> None:
    # ENTRA-KNOWN-ISSUES, "Requests to replace multiple attributes", without feature flag.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Pvlo"},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestBcwqnm@test.microsoft.com",
            },
            {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
            {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "value": "Eqpj",
            },
        ],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource[ENTERPRISE_USER_SCHEMA] == {"employeeNumber": "Eqpj"}
    assert ENTERPRISE_USER_SCHEMA in result.resource["schemas"]
    assert result.changed == {
        "displayName",
        "emails",
        "name",
        "externalId",
        f"{ENTERPRISE_USER_SCHEMA}:employeeNumber",
    }


def test_entra_replace_multiple_attributes_with_feature_flag() -> None:
    # ENTRA-KNOWN-ISSUES, "Requests to replace multiple attributes", with feature flag: a path-less
    # value whose keys are dotted ("name.givenName") or URN-qualified.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestMhvaes@test.microsoft.com",
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
                },
            },
        ],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["displayName"] == "Bjfe"
    assert result.resource["name"] == {
        "formatted": "givenName familyName",
        "familyName": "Unua",
        "givenName": "Kkom",
    }
    assert result.resource[ENTERPRISE_USER_SCHEMA] == {"employeeNumber": "Aklq"}
    assert result.resource["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"


def test_entra_path_less_add_with_dotted_and_urn_keys() -> None:
    # Entra's path-less "Add": dotted core keys, URN-qualified extension keys, the manager as a bare id.
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Add",
                "value": {
                    "name.givenName": "Barbara",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "mgr-id",
                },
            }
        ],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["name"]["givenName"] == "Barbara"
    assert result.resource[ENTERPRISE_USER_SCHEMA] == {
        "employeeNumber": "701984",
        "manager": {"value": "mgr-id"},
    }


def test_entra_manager_as_a_bare_id() -> None:
    # ENTRA-MANAGER: "value" is the manager's id, not {"value": id}.
    path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": path, "value": "mgr-id"}]}
    added = patch(ENTRA_USER, body)
    assert added.resource[ENTERPRISE_USER_SCHEMA] == {"manager": {"value": "mgr-id"}}
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": path, "value": "mgr-id"}]}
    assert patch(added.resource, body).changed == frozenset()
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": path}]}
    removed = patch(added.resource, body)
    assert ENTERPRISE_USER_SCHEMA not in removed.resource


def test_entra_stray_id_in_a_path_less_replace() -> None:
    # Entra (and Okta, below) echo the resource's "id" in a path-less value; it is ignored.
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "value": {"id": "48af03ac28ad4fb88478", "displayName": "x"}}],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["displayName"] == "x"
    assert result.changed == {"displayName"}


@pytest.mark.parametrize("echoed", [{"id": "other"}, {"meta": {"resourceType": "Group"}}])
def test_a_different_id_or_a_meta_is_not_an_echo_and_is_refused(echoed: dict[str, Any]) -> None:
    # The tolerance is for the resource's own id only (RFC 7644 §3.5.2: a readOnly attribute MUST NOT
    # be modified). This used to be ignored with a 200; issue 14 makes it 400 mutability.
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {**echoed, "displayName": "x"}}]}
    with pytest.raises(Mutability, match="readOnly"):
        patch(ENTRA_USER, body)


# --- Microsoft Entra ID: groups --------------------------------------------------------------------


def test_entra_update_group_non_member_attributes() -> None:
    # ENTRA-SCIM, "Update Group [Non-member attributes]".
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "displayName",
                "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
            }
        ],
    }
    result = patch(ENTRA_GROUP, body, (GROUP,))
    assert result.resource["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


def test_entra_update_group_add_members() -> None:
    # ENTRA-SCIM, "Update Group [Add Members]": "$ref": null is unassigned, so no duplicate is added.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}]}
        ],
    }
    group = {**ENTRA_GROUP, "members": []}
    added = patch(group, body, (GROUP,))
    assert added.resource["members"] == [{"value": "f648f8d5ea4e4cd38e9c"}]
    assert added.changed == {"members"}
    again = patch(added.resource, body, (GROUP,))
    assert again.changed == frozenset()


def test_entra_update_group_remove_members_without_feature_flag() -> None:
    # ENTRA-SCIM, "Update Group [Remove Members]", and ENTRA-KNOWN-ISSUES "Requests made to remove a
    # group member" without feature flag: only the listed member goes, never the whole group.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}]}
        ],
    }
    result = patch(ENTRA_GROUP, body, (GROUP,))
    assert member_ids(result) == ["u1091"]
    assert result.changed == {"members"}


def test_entra_remove_members_listed_by_value_ignores_absent_ones() -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "u1091"}, {"value": "gone"}]}],
    }
    assert member_ids(patch(ENTRA_GROUP, body, (GROUP,))) == ["f648f8d5ea4e4cd38e9c"]


def test_entra_remove_member_with_feature_flag() -> None:
    # ENTRA-KNOWN-ISSUES, "Requests made to remove a group member", with feature flag.
    group = {
        **ENTRA_GROUP,
        "members": [*ENTRA_GROUP["members"], {"value": "7f4bc1a3-285e-48ae-8202-5accb43efb0e"}],
    }
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]'}],
    }
    assert member_ids(patch(group, body, (GROUP,))) == ["f648f8d5ea4e4cd38e9c", "u1091"]


# --- Okta ------------------------------------------------------------------------------------------


def test_okta_deactivate_user() -> None:
    # OKTA-SCIM2, "Update a specific User (PATCH)": "When a user is deactivated, Okta sends this request".
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    result = patch(ENTRA_USER, body)
    assert result.resource["active"] is False
    assert result.changed == {"active"}


def test_okta_update_group_name() -> None:
    # OKTA-SCIM2, "Update a specific Group name": a path-less replace that echoes the group's id.
    # Okta sends it with each membership update too, usually with an unchanged name: then no change.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"},
            }
        ],
    }
    assert patch(OKTA_GROUP, body, (GROUP,)).changed == frozenset()
    renamed = {**OKTA_GROUP, "displayName": "Test SCIM"}
    result = patch(renamed, body, (GROUP,))
    assert result.resource["displayName"] == "Test SCIMv2"
    assert result.resource["id"] == "abf4dd94-a4c0-4f67-89c9-76b03340cb9b"
    assert result.changed == {"displayName"}


def test_okta_update_group_membership() -> None:
    # OKTA-SCIM2, "Update specific Group membership": a remove by value filter, then an add.
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "remove", "path": 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]'},
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}
                ],
            },
        ],
    }
    result = patch(OKTA_GROUP, body, (GROUP,))
    assert result.resource["members"] == [
        {"value": "b1c794f24f4c49f4b5d503a4cb2686ea", "display": "SCIM 2 Group A"},
        {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"},
    ]
    assert result.changed == {"members"}


def test_okta_full_push_of_membership() -> None:
    # OKTA-SCIM2, "Update specific Group membership": "a full push of the membership to the SCIM server
    # using the replace operation. This operation replaces all the group members".
    members = [
        {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"},
        {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "test.user@okta.local"},
    ]
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "members", "value": members}],
    }
    assert patch(OKTA_GROUP, body, (GROUP,)).resource["members"] == members


def test_okta_push_of_an_empty_membership_empties_the_group() -> None:
    # Okta's full push of a group whose Okta membership is empty: "value": [].
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "members", "value": []}],
    }
    result = patch(OKTA_GROUP, body, (GROUP,))
    assert "members" not in result.resource
    assert result.changed == {"members"}


# --- OneLogin, JumpCloud and other clients ---------------------------------------------------------


def test_lowercase_path_less_replace_of_a_group_name() -> None:
    # OneLogin and JumpCloud rename groups with a lowercase, path-less replace.
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"displayName": "x"}}]}
    assert patch(OKTA_GROUP, body, (GROUP,)).resource["displayName"] == "x"


def test_remove_all_members() -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}
    assert "members" not in patch(OKTA_GROUP, body, (GROUP,)).resource


@pytest.mark.parametrize("op", ["ADD", "Add", "add", "REPLACE", "Replace"])
def test_op_names_in_any_case(op: str) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "title", "value": "Guide"}]}
    assert patch(ENTRA_USER, body).resource["title"] == "Guide"


def test_member_names_of_the_request_in_any_case() -> None:
    body = {"Schemas": [PATCH_OP], "operations": [{"Op": "Add", "Path": "title", "Value": "Guide"}]}
    assert patch(ENTRA_USER, body).resource["title"] == "Guide"


def test_attribute_names_in_any_case_are_written_as_the_schema_spells_them() -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"DISPLAYNAME": "x", "NickName": "y"}}],
    }
    result = patch(ENTRA_USER, body)
    assert (result.resource["displayName"], result.resource["nickName"]) == ("x", "y")


def test_a_single_object_where_an_array_is_expected_is_refused() -> None:
    # No IdP documents it (Okta and Entra send arrays, above): RFC 7643 §2.4, an array.
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": {"value": "new"}}],
    }
    with pytest.raises(InvalidValue, match="array"):
        patch(OKTA_GROUP, body, (GROUP,))


def test_a_one_element_array_where_an_object_is_expected_is_refused() -> None:
    # Oracle IDCS documents `"path":"addresses[type eq \"other\"]","value":[{...}]`; none of the IdPs
    # this service is set up from (Okta, Entra, Google Workspace, OneLogin, JumpCloud) does.
    user = {**ENTRA_USER, "addresses": [{"type": "other", "locality": "Old"}]}
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "replace",
                "path": 'addresses[type eq "other"]',
                "value": [{"type": "other", "locality": "Hollywood"}],
            }
        ],
    }
    with pytest.raises(InvalidValue, match="object"):
        patch(user, body)


def test_a_path_naming_the_extension_schema() -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": ENTERPRISE_USER_SCHEMA, "value": {"department": "Tour Operations"}}
        ],
    }
    assert patch(ENTRA_USER, body).resource[ENTERPRISE_USER_SCHEMA] == {"department": "Tour Operations"}


def test_a_capitalised_unknown_op_is_still_refused() -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "Merge", "path": "title", "value": "x"}]}
    with pytest.raises(InvalidSyntax, match="Merge"):
        patch(ENTRA_USER, body)
