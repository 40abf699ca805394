"""Forms of the sync pages: settings and the Add dialogs of the mapping tables."""

from __future__ import annotations

from typing import Any

from django import forms

from rmmbridge.connectors.cw_automate import const as cw_automate
from rmmbridge.connectors.records import DeviceType
from rmmbridge.servicedesk.models import AssetType, Customer, FieldDefinition, FieldKind, Site
from rmmbridge.sync.catalog import entry_label, field_choices
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
                                help_text="One per line; these values never match an asset. The only junk list this "
                                          "integration's import uses (started from the default under Settings).")

    class Meta:
        model = SyncConfig
        fields = ["new_customer_mode", "toplevel", "one_customer", "match_users", "link_device_users", "user_source",
                  "type_field", "default_group",
                  "default_site", "child_assets", "missing_action", "grace_hours", "guard_percent",
                  "allow_customer_moves", "source_priority"]
        labels = {"toplevel": "Top level for new customers"}

    def __init__(self, *args: Any, connector_class: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if connector_class is not None:
            self._fit_vendor(connector_class)
        if "import_types" not in self.fields:
            return
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

    def _fit_vendor(self, cls: Any) -> None:
        """Offer only what the vendor supports; every mode offered does what it says for this vendor."""
        caps = {c.value for c in cls.capabilities}
        if cls.sites_are_customers:
            modes = [("create", f"Create a customer for each {cls.name} site"),
                     ("one_customer", f"Put every {cls.name} site under one customer"),
                     ("review", "Leave unmapped and list for review")]
        else:
            modes = [("create", f"Create a customer for each {cls.name} customer"),
                     ("review", "Leave unmapped and list for review")]
            del self.fields["one_customer"]
        self.fields["new_customer_mode"].choices = modes  # type: ignore[attr-defined]
        if "users" not in caps:
            for name in ("match_users",):
                del self.fields[name]
        if "devices" not in caps:
            for name in ("import_types", "match_rules_text", "junk_text", "link_device_users", "user_source",
                         "default_group", "default_site", "child_assets", "missing_action", "grace_hours",
                         "guard_percent"):
                self.fields.pop(name, None)

    def clean_new_customer_mode(self) -> str:
        mode = str(self.cleaned_data.get("new_customer_mode") or "")
        offered = {value for value, _ in self.fields["new_customer_mode"].choices}  # type: ignore[attr-defined]
        if mode not in offered:
            raise forms.ValidationError("This mode does not apply to this vendor; choose one of the list.")
        return mode

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
        if "import_types" in self.fields:
            config.import_types = list(self.cleaned_data.get("import_types") or [])
            config.match_rules = self.cleaned_data["match_rules_text"]
            config.junk_values = [line.strip() for line in (self.cleaned_data.get("junk_text") or "").splitlines()
                                  if line.strip()]
        if commit:
            config.save()
        return config


class SiteChoiceField(forms.ModelChoiceField):
    """Lists the chosen customer's sites but accepts any site, so the form can say whose site it is."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            return Site.objects.select_related("customer").get(pk=int(value))
        except (ValueError, TypeError, Site.DoesNotExist):
            raise forms.ValidationError("Choose a site of the chosen customer from the list.",
                                        code="invalid_choice") from None


class CustomerMappingForm(forms.ModelForm):
    """An RMM customer or site (picked from the RMM's list) mapped to a local customer and optionally a site."""

    external_id = forms.ChoiceField(label="RMM customer or site", error_messages={
        "invalid_choice": "Choose the RMM customer or site from the list (refresh it from the RMM if it is missing)."})

    class Meta:
        model = CustomerMapping
        fields = ["external_id", "customer", "site"]
        field_classes = {"site": SiteChoiceField}

    def __init__(self, *args: Any, integration: Any = None, catalog: Any = None, refresh_url: str = "",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        # Customer and site ids may overlap (Automate client 1, location 1): a choice is "<kind>:<id>".
        self.entries = {f"{e['kind']}:{e['id']}": e for e in (catalog.entries if catalog is not None else [])}
        choices = [("", "Choose from the RMM's list…")]
        choices += [(key, entry_label(e)) for key, e in self.entries.items()]
        current = self.instance.external_id if self.instance.pk else ""
        if current and self.initial.get("external_id") not in self.entries:
            same = [k for k, e in self.entries.items() if e["id"] == current and e["kind"] == self.instance.kind]
            named = [k for k in same if entry_label(self.entries[k]) == self.instance.external_name]
            if named or same:
                self.initial["external_id"] = (named or same)[0]
            else:
                self.initial["external_id"] = f"gone:{current}"
                choices.append((f"gone:{current}",
                                f"{self.instance.external_name or current} (no longer in the RMM's list)"))
                self.entries[f"gone:{current}"] = {"id": current, "name": self.instance.external_name or current,
                                                   "kind": "gone", "customer_name": ""}
        self.fields["external_id"].choices = choices  # type: ignore[attr-defined]
        self.fields["external_id"].widget.attrs.update({"data-search": "RMM customers and sites"})
        self.fields["customer"].queryset = Customer.objects.filter(active=True)  # type: ignore[attr-defined]
        self.fields["customer"].widget.attrs.update({"data-search": "customers"})
        chosen = self.data.get("customer") if self.is_bound else self.initial.get("customer")
        customer_id = str(chosen or self.instance.customer_id or "")
        sites = Site.objects.select_related("customer")
        self.fields["site"].queryset = (  # type: ignore[attr-defined]
            sites.filter(customer_id=int(customer_id)) if customer_id.isdigit() else sites.none())
        _refresh_on_change(self, refresh_url, "customer")
        self.fields["site"].label_from_instance = lambda site: site.name  # type: ignore[attr-defined]
        self.fields["site"].empty_label = "The customer's main site"  # type: ignore[attr-defined]
        self.fields["site"].help_text = "Only the chosen customer's sites are listed."

    def clean_external_id(self) -> str:
        entry = self.entries.get(str(self.cleaned_data.get("external_id") or ""))
        if entry is None:
            raise forms.ValidationError("Choose the RMM customer or site from the list (refresh it from the RMM if "
                                        "it is missing).")
        external_id = str(entry["id"])
        # A row applies to its kind only: RMM customer ids and site ids are separate (Automate client 4 ≠ location 4).
        kind = entry["kind"]
        self.chosen_kind = kind if kind in ("customer", "site") else (self.instance.kind or "customer")
        duplicate = CustomerMapping.objects.filter(integration=self.integration, kind=self.chosen_kind,
                                                   external_id=external_id)
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError(f"'{entry_label(entry)}' is already mapped; edit that row instead.")
        self.chosen = entry
        return external_id

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        customer, site = data.get("customer"), data.get("site")
        if customer and site and site.customer_id != customer.pk:
            self.add_error("site", f"Site '{site.name}' belongs to '{site.customer.name}', not '{customer.name}'.")
        return data

    def save(self, commit: bool = True) -> CustomerMapping:
        row: CustomerMapping = super().save(commit=False)
        row.external_name = entry_label(self.chosen)
        row.kind = self.chosen_kind
        if commit:
            row.save()
        return row


class TypeMappingForm(forms.ModelForm):
    """An RMM device type mapped to a local asset type, or ignored."""

    device_type = forms.ChoiceField(choices=DEVICE_TYPE_CHOICES, label="RMM device type")

    class Meta:
        model = AssetTypeMapping
        fields = ["device_type", "asset_type", "ignore"]
        labels = {"ignore": "Ignore this device type"}

    def __init__(self, *args: Any, integration: Any = None, catalog: Any = None, refresh_url: str = "",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        if catalog is not None and catalog.device_types:
            self.fields["device_type"].choices = [(str(v), str(label)) for v, label in catalog.device_types]  # type: ignore[attr-defined]
        self.fields["asset_type"].queryset = AssetType.objects.all()  # type: ignore[attr-defined]
        self.fields["asset_type"].widget.attrs.update({"data-search": "asset types"})
        vendor = getattr(integration, "vendor", "")
        config = SyncConfig.objects.filter(integration=integration).first() if integration is not None else None
        if config is not None and config.type_field:
            self.fields["device_type"] = forms.CharField(
                max_length=100, label=f"Value of {config.type_field}",
                help_text=f"A value of the type field {config.type_field} (e.g. 'MacBook Pro'); devices without "
                          "a value are mapped by their device type.")
        elif not (catalog is not None and catalog.device_types):
            self.fields["device_type"].choices = type_choices(vendor)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if not data.get("ignore") and not data.get("asset_type"):
            self.add_error("asset_type", "Choose an asset type, or tick 'Ignore this device type'.")
        duplicate = AssetTypeMapping.objects.filter(integration=self.integration, device_type=data.get("device_type"))
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            self.add_error("device_type", "This device type is already mapped; edit that row instead.")
        return data


TARGET_KINDS = [(FieldKind.ASSET_FIELD.value, "Asset field"), (FieldKind.CUSTOM_FIELD.value, "Custom field")]
CREATE = "__create__"


class FieldMappingForm(forms.ModelForm):
    """Halo's four-option field dialog: device type, target kind, RMM field, local field (or create it)."""

    device_type = forms.ChoiceField(label="RMM device type", required=False)
    target_kind = forms.ChoiceField(label="Field type", choices=TARGET_KINDS, initial=FieldKind.ASSET_FIELD.value)
    source = forms.ChoiceField(label="RMM field", error_messages={
        "required": "Choose one of the RMM's fields for this device type.",
        "invalid_choice": "Choose one of the RMM's fields for this device type (the list depends on the type)."})
    local_field = forms.ChoiceField(label="Local field", error_messages={
        "required": "Choose a local field, or 'Create it at the next import'.",
        "invalid_choice": "Choose a local field of this field type, or 'Create it at the next import'."})

    class Meta:
        model = FieldMapping
        fields = ["device_type", "target_kind", "source", "local_field", "policy"]
        labels = {"policy": "When to write"}

    def __init__(self, *args: Any, integration: Any = None, catalog: Any = None, refresh_url: str = "",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        types = [(str(v), str(label)) for v, label in (catalog.device_types if catalog is not None else [])]
        self.fields["device_type"].choices = [("", "All device types"), *(types or DEVICE_TYPE_CHOICES)]  # type: ignore[attr-defined]
        custom = bool(self.instance.pk) and self.instance.target.startswith("CF")
        kind = self._value("target_kind", FieldKind.CUSTOM_FIELD.value if custom else FieldKind.ASSET_FIELD.value)
        device_type = self._value("device_type", self.instance.device_type if self.instance.pk else "")
        sources = field_choices(catalog, device_type) if catalog is not None else []
        self.fields["source"].choices = [("", "Choose the RMM's field…"), *sources]  # type: ignore[attr-defined]
        self.fields["source"].widget.attrs.update({"data-search": "RMM fields"})
        self.source_labels = dict(sources)
        self.fields["target_kind"].initial = kind
        _refresh_on_change(self, refresh_url, "device_type", "target_kind")
        local = FieldDefinition.objects.filter(kind=kind).order_by("label")
        self.locals = {d.key: d for d in local}
        choices = [("", "Choose a local field…")]
        if kind == FieldKind.ASSET_FIELD.value:
            choices.append(("name", "Name"))
        choices += [(key, d.label) for key, d in self.locals.items()]
        choices.append((CREATE, "Create it at the next import (named after the RMM field)"))
        self.fields["local_field"].choices = choices  # type: ignore[attr-defined]
        self.fields["local_field"].widget.attrs.update({"data-search": "local fields"})
        if self.instance.pk:
            self.initial.setdefault("local_field", CREATE if self.instance.create_if_missing
                                    and self.instance.target not in self.locals else self.instance.target)

    def _value(self, name: str, default: str) -> str:
        if self.is_bound:
            return str(self.data.get(name) or "")
        return str(self.initial.get(name, default) or "")

    def clean_source(self) -> str:
        source = str(self.cleaned_data.get("source") or "")
        if source not in self.source_labels:
            raise forms.ValidationError("Choose one of the RMM's fields for this device type.")
        return source

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        source, local = data.get("source"), data.get("local_field")
        kind = data.get("target_kind") or FieldKind.ASSET_FIELD.value
        if local == CREATE and source:
            name = _field_name(self.source_labels.get(source, source))
            target = f"CF{name}" if kind == FieldKind.CUSTOM_FIELD.value else name
            data["target"], data["create_if_missing"] = target, True
        elif local:
            data["target"], data["create_if_missing"] = str(local), False
        duplicate = FieldMapping.objects.filter(integration=self.integration, source=source,
                                                target=data.get("target"), device_type=data.get("device_type") or "")
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if data.get("target") and duplicate.exists():
            self.add_error("local_field", "This RMM field already maps to that field; edit that row instead.")
        return data

    def save(self, commit: bool = True) -> FieldMapping:
        row: FieldMapping = super().save(commit=False)
        row.target = self.cleaned_data["target"]
        row.create_if_missing = self.cleaned_data["create_if_missing"]
        row.device_type = self.cleaned_data.get("device_type") or ""
        if commit:
            row.save()
        return row


def _refresh_on_change(form: forms.BaseForm, url: str, *names: str) -> None:
    """Reload the dialog with the values chosen so far when one of these fields changes (dependent lists)."""
    if not url:
        return
    for name in names:
        form.fields[name].widget.attrs.update({
            "hx-get": url, "hx-trigger": "change", "hx-target": "#mapping-dialog-body", "hx-swap": "innerHTML",
            "hx-include": "closest form",
        })


def _field_name(label: str) -> str:
    """A field name from the RMM field's label: 'Datto: Warranty date' → 'warranty_date'."""
    text = label.split(":", 1)[-1].strip().lower()
    name = "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")
    while "__" in name:
        name = name.replace("__", "_")
    return name or "rmm_field"
