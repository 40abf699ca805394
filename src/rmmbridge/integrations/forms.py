"""Forms generated from a vendor's CredentialSpec: field titles as labels, secrets as password inputs."""

from __future__ import annotations

from typing import Any

from django import forms
from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticUndefined

from rmmbridge.connectors.credentials import CredentialSpec

NAME_FIELD = "integration_name"


def _form_field(name: str, spec: type[CredentialSpec], secret_set: bool, editing: bool) -> forms.Field:
    info = spec.model_fields[name]
    label = info.title or name.replace("_", " ").capitalize()
    help_text = info.description or ""
    default = None if info.default is PydanticUndefined else info.default
    if info.annotation is SecretStr:
        placeholder = "set" if secret_set else ("not set" if editing else "")
        if editing:
            help_text = (help_text.rstrip(".") + ". " if help_text else "") + "Leave blank to keep the stored value."
        return forms.CharField(
            label=label, required=info.is_required() and not editing, help_text=help_text, strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"placeholder": placeholder,
                                                                  "autocomplete": "new-password"}),
        )
    if info.annotation is bool:
        return forms.BooleanField(label=label, required=False, initial=bool(default), help_text=help_text)
    if info.annotation is int:
        return forms.IntegerField(label=label, required=info.is_required(), initial=default, help_text=help_text)
    return forms.CharField(label=label, required=info.is_required(), initial=default, help_text=help_text,
                           max_length=2000)


class CredentialsForm(forms.Form):
    """Integration name plus one field per credential of the vendor."""

    def __init__(self, spec: type[CredentialSpec], *args: Any, secrets_set: dict[str, bool] | None = None,
                 editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.fields[NAME_FIELD] = forms.CharField(label="Name", max_length=200,
                                                  help_text="How this integration is called in rmmbridge.")
        for name in spec.model_fields:
            self.fields[name] = _form_field(name, spec, bool((secrets_set or {}).get(name)), editing)

    def clean(self) -> dict[str, Any]:
        """Check each entered credential with the vendor's own rules, so its message sits next to its field."""
        data: dict[str, Any] = super().clean() or {}
        for name, info in self.spec.model_fields.items():
            value = data.get(name)
            if name in self.errors or info.annotation is SecretStr or value in (None, ""):
                continue
            own: list[str] = []
            try:
                self.spec.__pydantic_validator__.validate_assignment(self.spec.model_construct(), name, value)
            except PydanticValidationError as exc:
                own = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors() if e["loc"][:1] == (name,)]
            except (AttributeError, KeyError, TypeError):
                own = []  # a rule over the whole model needs every field; saving checks it again
            if own:
                self.add_error(name, "; ".join(own))
        return data

    def credentials(self) -> dict[str, Any]:
        """The credential values entered (cleaned); blank secrets are left out so stored ones are kept."""
        values: dict[str, Any] = {}
        secrets = set(self.spec.secret_keys())
        for name in self.spec.model_fields:
            value = self.cleaned_data.get(name)
            if name in secrets and not value:
                continue
            values[name] = value
        return values

    def credential_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.spec.model_fields]
