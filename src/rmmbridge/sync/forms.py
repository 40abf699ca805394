"""Forms of the sync pages: settings and the Add dialogs of the mapping tables."""

from __future__ import annotations

from typing import Any

from django import forms

from rmmbridge.connectors.cw_automate import const as cw_automate
from rmmbridge.connectors.records import DeviceType
from rmmbridge.servicedesk.models import AssetType, Customer, Site
from rmmbridge.sync.models import AssetTypeMapping, CustomerMapping, FieldMapping, SyncConfig
from rmmbridge.sync.planner import type_label

DEVICE_TYPE_CHOICES = [(t.value, type_label(t.value)) for t in DeviceType]
#: Vendors whose asset types Halo offers as their own short list (key = device type, label = the vendor's name).
#: Automate: Halo's four, plus the two kinds of workstation rmmbridge tells apart (a workstation in a portable chassis
#: is a laptop, a virtual one a virtual machine), so they can be mapped too.
VENDOR_TYPE_CHOICES: dict[str, list[tuple[str, str]]] = {cw_automate.SLUG: [
    *cw_automate.ASSET_TYPES, ("laptop", "Workstations – laptops"), ("virtual_machine", "Workstations – virtual"),
]}
#: The type field Halo offers for a vendor (seed 003: "Addigy Asset Type Field", e.g. Hardware Model).
TYPE_FIELD_SUGGESTIONS: dict[str, tuple[str, str]] = {"addigy": ("facts.device_model_name", "Hardware Model")}


def type_choices(vendor: str) -> list[tuple[str, str]]:
    """The device types offered for mapping: the vendor's own list where Halo has one, else every device type."""
    return VENDOR_TYPE_CHOICES.get(vendor, DEVICE_TYPE_CHOICES)


def rules_to_text(rules: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['field']}{' within customer' if r.get('within_customer') else ''}" for r in rules)


def text_to_rules(text: str) -> list[dict[str, Any]]:
    rules = []
    for line in text.splitlines():
        words = line.strip()
        if not words:
            continue
        within = words.lower().endswith(" within customer")
        field = words[: -len(" within customer")].strip() if within else words
        if not all(ch.isalnum() or ch == "_" for ch in field):
            raise forms.ValidationError(
                f"'{field}' is not a field key: write one per line, e.g. 'serial_number' or 'name within customer'.")
        rules.append({"field": field, "within_customer": within})
    return rules


class SettingsForm(forms.ModelForm):
    """The integration's sync settings."""

    import_types = forms.MultipleChoiceField(choices=DEVICE_TYPE_CHOICES, required=False,
                                             widget=forms.CheckboxSelectMultiple,
                                             help_text="Device types to import; none ticked = all.")
    match_rules_text = forms.CharField(
        label="Asset matching fields", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One field key per line, in order; add 'within customer' to match only inside the customer. "
                  "The RMM's own id always comes first.")
    junk_text = forms.CharField(label="Junk values", required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                help_text="One per line; these values never match an asset.")

    class Meta:
        model = SyncConfig
        fields = ["new_customer_mode", "toplevel", "one_customer", "match_users", "link_device_users", "user_source",
                  "type_field", "default_group",
                  "default_site", "child_assets", "missing_action", "grace_hours", "guard_percent",
                  "allow_customer_moves", "source_priority"]
        labels = {"toplevel": "Top level for new customers"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["import_types"].initial = self.instance.import_types
        self.fields["match_rules_text"].initial = rules_to_text(self.instance.match_rules or [])
        self.fields["junk_text"].initial = "\n".join(self.instance.junk_values or [])
        self.fields["default_site"].queryset = Site.objects.select_related("customer")  # type: ignore[attr-defined]
        self.fields["source_priority"].required = False
        vendor = getattr(getattr(self.instance, "integration", None), "vendor", "")
        suggested = TYPE_FIELD_SUGGESTIONS.get(vendor)
        if suggested:  # offered by default where Halo offers it (Addigy's "Asset Type Field")
            path, label = suggested
            self.fields["type_field"].widget.attrs["placeholder"] = path
            self.fields["type_field"].help_text += f" For {vendor.title()}, e.g. '{path}' ({label})."

    def clean_type_field(self) -> str:
        value = str(self.cleaned_data.get("type_field") or "").strip()
        if value and (" " in value or not all(ch.isalnum() or ch in "._-" for ch in value)):
            raise forms.ValidationError(
                f"'{value}' is not a field path: use the RMM field's dotted name, e.g. facts.device_model_name.")
        return value

    def clean_source_priority(self) -> int:
        value = self.cleaned_data.get("source_priority")
        return 100 if value is None else int(value)

    def clean_match_rules_text(self) -> list[dict[str, Any]]:
        return text_to_rules(self.cleaned_data.get("match_rules_text") or "")

    def clean_user_source(self) -> str:
        return str(self.cleaned_data.get("user_source") or "").strip() or "last_logged_in_user"

    def clean_guard_percent(self) -> int:
        value = int(self.cleaned_data["guard_percent"])
        if value > 100:
            raise forms.ValidationError("The guard is a share of assets: choose 0 to 100 (%).")
        return value

    def save(self, commit: bool = True) -> SyncConfig:
        config: SyncConfig = super().save(commit=False)
        config.import_types = list(self.cleaned_data.get("import_types") or [])
        config.match_rules = self.cleaned_data["match_rules_text"]
        config.junk_values = [line.strip() for line in (self.cleaned_data.get("junk_text") or "").splitlines()]
        if commit:
            config.save()
        return config


class CustomerMappingForm(forms.ModelForm):
    class Meta:
        model = CustomerMapping
        fields = ["kind", "external_id", "external_name", "customer", "site"]
        labels = {"kind": "The RMM id is a", "external_id": "RMM customer or site id", "external_name": "RMM name"}

    def __init__(self, *args: Any, integration: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.fields["customer"].queryset = Customer.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["site"].queryset = Site.objects.select_related("customer")  # type: ignore[attr-defined]
        self.fields["site"].help_text = "Optional; empty = the customer's main site."
        self.fields["kind"].required = False
        self.fields["kind"].help_text = "RMM customer ids and site ids are separate: a row applies to its kind only."

    def clean_kind(self) -> str:
        return str(self.cleaned_data.get("kind") or "customer")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        customer, site = data.get("customer"), data.get("site")
        if customer and site and site.customer_id != customer.pk:
            self.add_error("site", f"Site '{site.name}' belongs to '{site.customer.name}', not '{customer.name}'.")
        external_id = (data.get("external_id") or "").strip()
        kind = data.get("kind") or "customer"
        if external_id and CustomerMapping.objects.filter(integration=self.integration, kind=kind,
                                                          external_id=external_id).exists():
            self.add_error("external_id", f"RMM {kind} '{external_id}' is already mapped; delete that row first.")
        return data


class TypeMappingForm(forms.ModelForm):
    device_type = forms.ChoiceField(choices=DEVICE_TYPE_CHOICES)

    class Meta:
        model = AssetTypeMapping
        fields = ["device_type", "asset_type", "ignore"]
        labels = {"ignore": "Ignore this device type"}

    def __init__(self, *args: Any, integration: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.fields["asset_type"].queryset = AssetType.objects.all()  # type: ignore[attr-defined]
        vendor = getattr(integration, "vendor", "")
        config = SyncConfig.objects.filter(integration=integration).first() if integration is not None else None
        if config is not None and config.type_field:
            self.fields["device_type"] = forms.CharField(
                max_length=100, label=f"Value of {config.type_field}",
                help_text=f"A value of the type field {config.type_field} (e.g. 'MacBook Pro'); devices without "
                          "a value are mapped by their device type.")
        else:
            self.fields["device_type"].choices = type_choices(vendor)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if not data.get("ignore") and not data.get("asset_type"):
            self.add_error("asset_type", "Choose an asset type, or tick 'Ignore this device type'.")
        if AssetTypeMapping.objects.filter(integration=self.integration,
                                           device_type=data.get("device_type")).exists():
            self.add_error("device_type", "This device type is already mapped; delete that row first.")
        return data


class FieldMappingForm(forms.ModelForm):
    device_type = forms.ChoiceField(choices=[("", "All device types"), *DEVICE_TYPE_CHOICES], required=False)

    class Meta:
        model = FieldMapping
        fields = ["source", "target", "policy", "device_type", "create_if_missing"]
        labels = {"source": "RMM field", "target": "Asset field key (CF<name> for a custom field)",
                  "create_if_missing": "Create the field at the next import if it does not exist"}

    def __init__(self, *args: Any, integration: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.fields["source"].widget.attrs["list"] = "available-fields"

    def clean_target(self) -> str:
        target = str(self.cleaned_data["target"]).strip()
        if not target or not all(ch.isalnum() or ch == "_" for ch in target):
            raise forms.ValidationError(f"'{target}' may contain only letters, digits and underscores.")
        return target
