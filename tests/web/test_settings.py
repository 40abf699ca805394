"""The settings page: service-desk settings, top levels, asset groups/types and field definitions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from tests.servicedesk.factories import AssetFactory, AssetTypeFactory

from rmmbridge.servicedesk.models import AssetGroup, AssetType, AuditEntry, FieldDefinition, ServiceDeskSettings

pytestmark = pytest.mark.django_db
URL = "/settings/"


def errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="([^"]+)">([^<]+)<', html))


def test_settings_url_and_navigation(admin_client: Any) -> None:
    assert reverse("web:settings") == URL
    html = admin_client.get(URL).content.decode()
    for label, url in (("Customers", "/customers/"), ("Sites", "/sites/"), ("Users", "/users/"),
                       ("Assets", "/assets/"), ("Settings", URL)):
        assert f'<a href="{url}"' in html, label
    assert 'href="/settings/" aria-current="page"' in html


def test_save_service_desk_settings(admin_client: Any) -> None:
    response = admin_client.post(URL, {"section": "settings", "settings-asset_tag_unique": "",
                                       "settings-junk_values": "To be filled by O.E.M.\n\n  0000000 \n0000000"})
    assert response.status_code == 302
    current = ServiceDeskSettings.load()
    assert current.asset_tag_unique is False
    assert current.junk_values == ["To be filled by O.E.M.", "0000000"]
    html = admin_client.get(URL).content.decode()
    assert "To be filled by O.E.M.\n0000000</textarea>" in html


def test_turning_unique_tags_on_with_duplicates_says_which(admin_client: Any) -> None:
    admin_client.post(URL, {"section": "settings", "settings-asset_tag_unique": "", "settings-junk_values": ""})
    first = AssetFactory(asset_tag="DUP-1")
    AssetFactory(asset_tag="DUP-1", asset_type=first.asset_type)
    response = admin_client.post(URL, {"section": "settings", "settings-asset_tag_unique": "on",
                                       "settings-junk_values": ""})
    assert response.status_code == 400
    assert "these tags are used by several assets (&#x27;DUP-1&#x27;)" in response.content.decode()
    assert ServiceDeskSettings.load().asset_tag_unique is False


def test_create_group_type_and_toplevel(admin_client: Any) -> None:
    assert admin_client.post(URL, {"section": "group", "group-name": "Computers"}).status_code == 302
    group = AssetGroup.objects.get(name="Computers")
    assert admin_client.post(URL, {"section": "type", "type-name": "Laptop", "type-group": group.pk}).status_code == 302
    assert AssetType.objects.get(name="Laptop").group == group
    duplicate = admin_client.post(URL, {"section": "type", "type-name": "LAPTOP", "type-group": group.pk})
    assert errors(duplicate.content.decode()) == {"name": "An asset type named &#x27;LAPTOP&#x27; already exists."}
    assert admin_client.post(URL, {"section": "toplevel", "toplevel-name": "Managed"}).status_code == 302
    html = admin_client.get(URL).content.decode()
    assert "Laptop" in html
    assert "Managed" in html


def test_create_field_definitions_of_each_kind(admin_client: Any) -> None:
    laptop = AssetTypeFactory(name="Laptop")
    response = admin_client.post(URL, {
        "section": "field", "field-name": "CF3rdparty", "field-label": "Third party", "field-kind": "custom_field",
        "field-data_type": "choice", "field-choices": "Yes\nNo\n\nYes", "field-asset_types": [laptop.pk]})
    assert response.status_code == 302
    definition = FieldDefinition.objects.get(name="3rdparty")
    assert definition.key == "CF3rdparty"
    assert definition.choices == ["Yes", "No"]
    assert list(definition.asset_types.all()) == [laptop]
    assert AuditEntry.objects.filter(object_type="fielddefinition", object_id=definition.pk).exists()
    html = admin_client.get(URL).content.decode()
    assert "<code>CF3rdparty</code>" in html


def test_show_an_existing_field_on_more_types(admin_client: Any) -> None:
    laptop, server = AssetTypeFactory(name="Laptop"), AssetTypeFactory(name="Server")
    admin_client.post(URL, {"section": "field", "field-name": "os", "field-kind": "asset_field",
                            "field-data_type": "text", "field-asset_types": [laptop.pk]})
    definition = FieldDefinition.objects.get(name="os")
    response = admin_client.post(URL, {"section": "show_field", "show_field-definition": definition.pk,
                                       "show_field-asset_types": [laptop.pk, server.pk]}, follow=True)
    assert "now shows on 1 more asset type(s)" in response.content.decode()
    assert set(definition.asset_types.all()) == {laptop, server}
    missing = admin_client.post(URL, {"section": "show_field", "show_field-definition": definition.pk})
    assert errors(missing.content.decode()) == {"asset_types": "This field is required."}


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        ({"field-name": "bad name!", "field-data_type": "text"}, "name",
         "Field name &#x27;bad name!&#x27; may contain only letters, digits and underscores."),
        ({"field-name": "tier", "field-data_type": "choice"}, "name",
         "Choice field &#x27;tier&#x27; needs at least one choice."),
        ({"field-name": "x", "field-data_type": "colour"}, "data_type",
         "Select a valid choice. colour is not one of the available choices."),
    ],
)
def test_bad_field_definitions_say_what_to_fix(admin_client: Any, post: dict[str, str], field: str,
                                               message: str) -> None:
    response = admin_client.post(URL, {"section": "field", "field-kind": "asset_field", **post})
    assert response.status_code == 400
    assert errors(response.content.decode())[field] == message
    assert not FieldDefinition.objects.exists()


def test_unknown_section_is_an_error_message(admin_client: Any) -> None:
    response = admin_client.post(URL, {"section": "nope"}, follow=True)
    assert "Unknown settings section" in response.content.decode()
