"""Forms of the service-desk pages; they only collect input, the actions validate and write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from rmmbridge.servicedesk.actions import validate_values
from rmmbridge.servicedesk.fieldtypes import DataType
from rmmbridge.servicedesk.models import (
    Asset,
    AssetGroup,
    AssetType,
    Customer,
    EndUser,
    FieldDefinition,
    FieldKind,
    Site,
    TopLevel,
)

VALUE_PREFIX = "value__"


class CustomerForm(forms.Form):
    """Create or edit a customer (the main site's name only matters on create)."""

    name = forms.CharField(max_length=200)
    toplevel = forms.ModelChoiceField(TopLevel.objects.all(), required=False, label="Top level")
    main_site_name = forms.CharField(max_length=200, initial="Main", label="Main site name")
    active = forms.BooleanField(required=False, initial=True)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class SiteForm(forms.Form):
    """Add a site to a customer, or edit one."""

    customer = forms.ModelChoiceField(Customer.objects.all())
    name = forms.CharField(max_length=200)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    active = forms.BooleanField(required=False, initial=True)


class EndUserForm(forms.Form):
    """Create or edit a user at a site."""

    site = forms.ModelChoiceField(Site.objects.select_related("customer"))
    name = forms.CharField(max_length=200)
    email = forms.CharField(max_length=254, required=False, label="E-mail")
    phone = forms.CharField(max_length=64, required=False)
    active = forms.BooleanField(required=False, initial=True)


def value_to_input(value: Any, data_type: str) -> str:
    """How a stored value is shown in its form input (so an unchanged form round-trips)."""
    if value is None:
        return ""
    if data_type == DataType.BOOLEAN.value:
        return "true" if value else "false"
    return str(value)


class AssetForm(forms.Form):
    """An asset's attributes plus one input per field shown for its type (or holding a stored value)."""

    name = forms.CharField(max_length=255, required=False)
    asset_tag = forms.CharField(max_length=100, required=False, label="Asset tag")
    asset_type = forms.ModelChoiceField(AssetType.objects.all(), label="Asset type")
    site = forms.ModelChoiceField(Site.objects.select_related("customer"))
    end_user = forms.ModelChoiceField(EndUser.objects.none(), required=False, label="User")
    parent = forms.IntegerField(required=False, label="Parent asset ID",
                                help_text="ID of the asset this one belongs to (e.g. the workstation of a printer).")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, asset: Asset | None = None, definitions: list[FieldDefinition] | None = None,
                 customer_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset = asset
        self.definitions = definitions or []
        customer_id = asset.customer_id if asset is not None else customer_id
        end_user = self.fields["end_user"]
        if customer_id is None:
            end_user.help_text = "Pick a site first (press “Show fields”) to choose one of its customer's users."
        else:
            end_user.queryset = EndUser.objects.filter(customer_id=customer_id)  # type: ignore[attr-defined]
            end_user.help_text = "Users of the asset's customer."
        for definition in self.definitions:
            self.fields[VALUE_PREFIX + definition.key] = self._value_field(definition)

    @staticmethod
    def _value_field(definition: FieldDefinition) -> forms.Field:
        label = definition.label + (" (custom)" if definition.kind == FieldKind.CUSTOM_FIELD else "")
        dtype = definition.data_type
        if dtype == DataType.BOOLEAN.value:
            options = [("", "—"), ("true", "Yes"), ("false", "No")]
            return forms.CharField(label=label, required=False, widget=forms.Select(choices=options))
        if dtype == DataType.CHOICE.value:
            options = [("", "—")] + [(c, c) for c in definition.choices or []]
            return forms.CharField(label=label, required=False, widget=forms.Select(choices=options))
        widget: forms.Widget = forms.TextInput()
        if dtype == DataType.DATE.value:
            widget = forms.TextInput(attrs={"placeholder": "YYYY-MM-DD"})
        elif dtype == DataType.DATETIME.value:
            widget = forms.TextInput(attrs={"placeholder": "2026-01-31T14:05:00Z"})
        elif dtype in (DataType.INTEGER.value, DataType.DECIMAL.value):
            widget = forms.TextInput(attrs={"inputmode": "decimal"})
        return forms.CharField(label=label, required=False, widget=widget, max_length=4000)

    def value_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(VALUE_PREFIX)]

    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(VALUE_PREFIX)]

    def clean_parent(self) -> Asset | None:
        parent_id = self.cleaned_data.get("parent")
        if parent_id is None:
            return None
        parent = Asset.objects.filter(pk=parent_id).first()
        if parent is None:
            raise ValidationError(
                f"There is no asset with ID {parent_id}; enter an existing asset's ID or leave it empty."
            )
        return parent

    def clean(self) -> dict[str, Any]:
        """Check each field value on its own, so its message shows next to its input."""
        cleaned = super().clean() or {}
        by_key = {d.key: d for d in self.definitions}
        for name in list(cleaned):
            if not name.startswith(VALUE_PREFIX):
                continue
            key = name[len(VALUE_PREFIX):]
            try:
                validate_values({key: cleaned[name]}, by_key)
            except ValidationError as exc:
                self.add_error(name, exc.messages)
        return cleaned

    def raw_values(self) -> dict[str, Any]:
        """Field values keyed by field key, as typed (the action converts them)."""
        return {name[len(VALUE_PREFIX):]: value for name, value in self.cleaned_data.items()
                if name.startswith(VALUE_PREFIX)}

    def add_action_errors(self, exc: ValidationError) -> None:
        """Place an action's error messages next to the input they are about, else at the top."""
        routes: Mapping[str, str] = {"asset tag": "asset_tag", "parent": "parent", "user '": "end_user"}
        for message in exc.messages:
            lowered = message.lower()
            target = next((f for word, f in routes.items() if word in lowered), None)
            self.add_error(target, message)


class TopLevelForm(forms.Form):
    """A new top level."""

    name = forms.CharField(max_length=200, label="Top level name")


class AssetGroupForm(forms.Form):
    """A new asset group."""

    name = forms.CharField(max_length=200, label="Group name")


class AssetTypeForm(forms.Form):
    """A new asset type in a group."""

    name = forms.CharField(max_length=200, label="Type name")
    group = forms.ModelChoiceField(AssetGroup.objects.all())


class FieldDefinitionForm(forms.Form):
    """A new asset field or custom field."""

    name = forms.CharField(max_length=100, help_text="Letters, digits and underscores; custom fields become CF<name>.")
    label = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=FieldKind.choices)
    data_type = forms.ChoiceField(choices=[(t.value, t.value) for t in DataType], label="Data type")
    choices = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              help_text="For a choice field: one choice per line.")
    asset_types = forms.ModelMultipleChoiceField(AssetType.objects.all(), required=False, label="Shown on asset types",
                                                 widget=forms.CheckboxSelectMultiple)

    def clean_choices(self) -> list[str]:
        lines = [line.strip() for line in (self.cleaned_data.get("choices") or "").splitlines()]
        return list(dict.fromkeys(line for line in lines if line))


class ShowFieldForm(forms.Form):
    """Show an existing field on more asset types."""

    definition = forms.ModelChoiceField(FieldDefinition.objects.all(), label="Field")
    asset_types = forms.ModelMultipleChoiceField(AssetType.objects.all(), label="Also show on",
                                                 widget=forms.CheckboxSelectMultiple)


class ServiceDeskSettingsForm(forms.Form):
    """Service-desk wide settings."""

    asset_tag_unique = forms.BooleanField(required=False, label="Asset tag must be unique")
    junk_values = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                  label="Default junk values for new integrations",
                                  help_text="One per line: serial numbers or names that never identify a device "
                                            "(e.g. 'To be filled by O.E.M.'). Each integration starts with this "
                                            "list and keeps its own copy in its Sync settings, which the import "
                                            "uses; changing it here does not change existing integrations.")

    def clean_junk_values(self) -> list[str]:
        lines = [line.strip() for line in (self.cleaned_data.get("junk_values") or "").splitlines()]
        return list(dict.fromkeys(line for line in lines if line))
