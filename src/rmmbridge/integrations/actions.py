"""The write layer for integrations: create, change credentials, test, enable/disable, rotate keys (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from pydantic import SecretStr

from rmmbridge.common.clock import utcnow
from rmmbridge.common.secrets import SecretDecryptError, default_box
from rmmbridge.connectors import get_connector
from rmmbridge.connectors.base import ConnectionTestResult, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import ConnectorConfigError, ConnectorError
from rmmbridge.integrations.connect import RequestLogSink, open_with_credentials, persist_entries
from rmmbridge.integrations.models import Integration, IntegrationModule, IntegrationStatus
from rmmbridge.servicedesk.actions import Actor, record_audit, record_audit_many

AUTH_ERROR_KEYS = frozenset({"invalid_auth", "forbidden"})


class CredentialTestFailed(ValidationError):
    """The RMM rejected the credentials (or could not be reached); nothing was saved."""

    def __init__(self, result: ConnectionTestResult) -> None:
        super().__init__(result.message, code=result.error_key or "unknown")
        self.result = result


def connector_class(vendor: str) -> type[Connector]:
    """The connector class of `vendor`, or a ValidationError listing the known vendors."""
    try:
        return get_connector(vendor)
    except ConnectorConfigError as exc:
        raise ValidationError(exc.message) from None


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("Integration name is required.")
    if len(cleaned) > 200:
        raise ValidationError("Integration name is longer than 200 characters.")
    return cleaned


def _check_name_free(name: str, exclude_pk: int | None = None) -> None:
    others = Integration.objects.filter(name__iexact=name)
    clash = (others.exclude(pk=exclude_pk) if exclude_pk is not None else others).first()
    if clash is not None:
        raise ValidationError(f"An integration named '{clash.name}' already exists; choose another name.")


def _plain_value(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def clean_credentials(spec: type[CredentialSpec], credentials: Mapping[str, Any]) -> dict[str, Any]:
    """Validate credentials with the vendor's CredentialSpec; plain dict for storage, or a clear ValidationError."""
    raw = {key: value for key, value in credentials.items() if not (isinstance(value, str) and value.strip() == "")}
    try:
        parsed = spec.parse(raw)
    except ConnectorConfigError as exc:
        raise ValidationError(exc.message) from None
    return {name: _plain_value(getattr(parsed, name)) for name in spec.model_fields}


def _audit_view(spec: type[CredentialSpec], credentials: Mapping[str, Any]) -> dict[str, Any]:
    """Credentials as the audit trail may show them: secrets only as 'set' / 'not set'."""
    secrets = set(spec.secret_keys())
    return {
        key: ("set" if credentials.get(key) else "not set") if key in secrets else credentials.get(key)
        for key in spec.model_fields
    }


def _run_test(vendor: str, credentials: Mapping[str, Any], sink: RequestLogSink | None = None
              ) -> tuple[ConnectionTestResult, list[Any]]:
    """Test raw credentials against the RMM; returns the result and the (redacted) request log entries."""
    entries: list[Any] = []
    try:
        with open_with_credentials(vendor, credentials, sink=sink, interactive=True) as (connector, request_log):
            result = connector.test_connection()
            entries = list(request_log.entries())
    except ConnectorConfigError as exc:
        return ConnectionTestResult(ok=False, message=f"Validation failed – {exc.message}",
                                    error_key="invalid_config"), entries
    except ConnectorError as exc:
        from rmmbridge.connectors.base import describe_error

        key, message = describe_error(exc)
        return ConnectionTestResult(ok=False, message=message, error_key=key), entries
    return result, entries


def _account_clash(vendor: str, account_id: str, exclude_pk: int | None) -> Integration | None:
    if not account_id:
        return None
    same = Integration.objects.filter(vendor=vendor, account_id=account_id)
    return (same.exclude(pk=exclude_pk) if exclude_pk is not None else same).first()


def _duplicate_account(clash: Integration, account_name: str) -> ConnectionTestResult:
    return ConnectionTestResult(
        ok=False,
        error_key="duplicate_account",
        message=f"Validation failed – the account '{account_name or clash.account_id}' is already connected as "
                f"integration '{clash.name}'; edit that integration instead of adding it twice.",
    )


def _ensure_module_enabled(actor: Actor, vendor: str) -> None:
    module, created = IntegrationModule.objects.get_or_create(vendor=vendor, defaults={"enabled": True})
    if created:
        record_audit(actor, module, "enable", {"enabled": [None, True]})
    elif not module.enabled:
        module.enabled = True
        module.save(update_fields=["enabled", "updated_at"])
        record_audit(actor, module, "enable", {"enabled": [False, True]})


def do_create_integration(
    actor: Actor, vendor: str, name: str, credentials: Mapping[str, Any], *, test: bool = True
) -> Integration:
    """Create an integration; with test=True the RMM must accept the credentials first (nothing saved otherwise).

    Raises ValidationError (bad name, vendor or credentials; duplicate account) or CredentialTestFailed.
    """
    cls = connector_class(vendor)
    name = _clean_name(name)
    _check_name_free(name)
    clean = clean_credentials(cls.credentials_model, credentials)
    result: ConnectionTestResult | None = None
    entries: list[Any] = []
    if test:
        result, entries = _run_test(vendor, clean)
        if not result.ok:
            raise CredentialTestFailed(result)
    account_id = result.account.account_id if result and result.account else ""
    account_name = result.account.display_name if result and result.account else ""
    clash = _account_clash(vendor, account_id, None)
    if clash is not None:
        raise CredentialTestFailed(_duplicate_account(clash, account_name))
    try:
        integration = _insert_integration(actor, vendor, name, clean, result, account_id, account_name)
    except IntegrityError:
        raise ValidationError(
            f"Another integration named '{name}' or for the same {cls.name} account was added at the same time; "
            "reload the list and check before adding it again."
        ) from None
    persist_entries(int(integration.pk), entries)
    return integration


@transaction.atomic
def _insert_integration(actor: Actor, vendor: str, name: str, clean: dict[str, Any],
                        result: ConnectionTestResult | None, account_id: str, account_name: str) -> Integration:
    """Insert the integration (and enable its module) with one audit entry; secrets only as 'set'."""
    spec = connector_class(vendor).credentials_model
    _ensure_module_enabled(actor, vendor)
    integration = Integration(vendor=vendor, name=name, enabled=True, account_id=account_id,
                              account_name=account_name)
    integration.set_credentials(clean)
    if result is not None:
        integration.status = IntegrationStatus.OK
        integration.last_tested_at = utcnow()
    integration.save()
    record_audit(actor, integration, "create", {
        "vendor": [None, vendor], "name": [None, name], "tested": [None, result is not None],
        "credentials": [None, _audit_view(spec, clean)],
    })
    return integration


def merged_credentials(integration: Integration, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Stored credentials with `changes` applied; a blank secret keeps the stored one. Validated."""
    spec = integration.connector_class.credentials_model
    secrets = set(spec.secret_keys())
    unknown = sorted(set(changes) - set(spec.model_fields))
    if unknown:
        raise ValidationError(
            f"Unknown credential key(s) {', '.join(unknown)} for {integration.vendor_name}; "
            f"valid keys: {', '.join(spec.model_fields)}."
        )
    stored = dict(integration.get_credentials())
    merged = dict(stored)
    for key, value in changes.items():
        if key in secrets and _blank(value):
            continue
        merged[key] = value
    kept = [key for key in spec.secret_keys() if stored.get(key) and (key not in changes or _blank(changes[key]))]
    clean = clean_credentials(spec, merged)
    moved = [key for key in spec.destination_keys() if clean.get(key) != stored.get(key)]
    if moved and kept:
        fields = spec.model_fields
        raise ValidationError(
            f"Changing {_titles(fields, moved)} sends the credentials to a new address: enter "
            f"{_titles(fields, kept)} again (the stored secrets are never sent to a changed address)."
        )
    return clean


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _titles(fields: Mapping[str, Any], keys: list[str]) -> str:
    names = [f"'{fields[key].title or key}'" for key in keys]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def do_update_credentials(
    actor: Actor, integration: Integration, changes: Mapping[str, Any], *, test: bool = False
) -> ConnectionTestResult | None:
    """Change some credentials (a blank secret keeps the stored one).

    With test=True the new credentials are tested first and refused (CredentialTestFailed) when the RMM rejects
    them, so working credentials are never replaced by broken ones. Returns the test result when tested.
    """
    spec = integration.connector_class.credentials_model
    before = integration.get_credentials()
    after = merged_credentials(integration, changes)
    result: ConnectionTestResult | None = None
    sink = RequestLogSink(int(integration.pk))
    if test:
        result, _entries = _run_test(integration.vendor, after, sink)
        if result.ok and result.account:
            clash = _account_clash(integration.vendor, result.account.account_id, integration.pk)
            if clash is not None:
                result = _duplicate_account(clash, result.account.display_name)
        if not result.ok:
            raise CredentialTestFailed(result)
    secrets = set(spec.secret_keys())
    diff: dict[str, list[Any]] = {}
    for key in spec.model_fields:
        if before.get(key) != after.get(key):
            diff[key] = ["set", "changed"] if key in secrets else [before.get(key), after.get(key)]
    update_fields = ["updated_at"]
    if diff:
        integration.set_credentials(after)
        update_fields.append("credentials_encrypted")
    if result is not None:
        _apply_result(integration, result)
        update_fields += ["status", "last_error", "last_tested_at", "account_id", "account_name"]
    elif diff and integration.enabled:
        integration.status = IntegrationStatus.NEW
        integration.last_error = ""
        update_fields += ["status", "last_error"]
    integration.save(update_fields=update_fields)
    if diff:
        record_audit(actor, integration, "update_credentials", diff)
    return result


def _apply_result(integration: Integration, result: ConnectionTestResult) -> None:
    """Set status, last error, test time and account from a test result (not saved)."""
    integration.last_tested_at = utcnow()
    if result.ok:
        integration.last_error = ""
        if result.account is not None:
            integration.account_id = result.account.account_id
            integration.account_name = result.account.display_name
        status = IntegrationStatus.OK
    else:
        integration.last_error = result.message
        status = IntegrationStatus.NEEDS_REAUTH if result.error_key in AUTH_ERROR_KEYS else IntegrationStatus.FAILING
    integration.status = status if integration.enabled else IntegrationStatus.DISABLED


def do_test_integration(actor: Actor, integration: Integration) -> ConnectionTestResult:
    """Test the stored credentials against the RMM; updates status, last error and account. Never raises for
    a failed test: the result says what went wrong."""
    try:
        credentials = integration.get_credentials()
    except SecretDecryptError as exc:
        result = ConnectionTestResult(ok=False, message=str(exc), error_key="cannot_decrypt")
    else:
        result, _entries = _run_test(integration.vendor, credentials, RequestLogSink(int(integration.pk)))
        if result.ok and result.account:
            clash = _account_clash(integration.vendor, result.account.account_id, integration.pk)
            if clash is not None:
                result = _duplicate_account(clash, result.account.display_name)
    _apply_result(integration, result)
    integration.save(update_fields=["status", "last_error", "last_tested_at", "account_id", "account_name",
                                    "updated_at"])
    record_audit(actor, integration, "test", {"ok": [None, result.ok], "error_key": [None, result.error_key]})
    return result


def do_set_enabled(actor: Actor, integration: Integration, enabled: bool) -> bool:
    """Enable or disable one integration; returns True when it changed."""
    if integration.enabled == enabled:
        return False
    if enabled:
        _ensure_module_enabled(actor, integration.vendor)
    integration.enabled = enabled
    if not enabled:
        integration.status = IntegrationStatus.DISABLED
    elif integration.last_tested_at is None:
        integration.status = IntegrationStatus.NEW
    else:
        integration.status = IntegrationStatus.FAILING if integration.last_error else IntegrationStatus.OK
    integration.save(update_fields=["enabled", "status", "updated_at"])
    record_audit(actor, integration, "enable" if enabled else "disable", {"enabled": [not enabled, enabled]})
    return True


def do_set_module_enabled(actor: Actor, vendor: str, enabled: bool) -> IntegrationModule:
    """Enable (+) or disable (x) a vendor module; disabling it also disables each of its integrations."""
    connector_class(vendor)
    with transaction.atomic():
        module, _created = IntegrationModule.objects.get_or_create(vendor=vendor)
        if module.enabled != enabled:
            record_audit(actor, module, "enable" if enabled else "disable", {"enabled": [module.enabled, enabled]})
            module.enabled = enabled
            module.save(update_fields=["enabled", "updated_at"])
        if not enabled:
            for integration in Integration.objects.filter(vendor=vendor, enabled=True):
                do_set_enabled(actor, integration, False)
    return module


def do_mark_needs_reauth(integration: Integration, message: str) -> None:
    """The RMM rejected the stored credentials during a background job: ask an admin to re-enter them."""
    integration.last_error = message
    if integration.enabled:
        integration.status = IntegrationStatus.NEEDS_REAUTH
    integration.save(update_fields=["status", "last_error", "updated_at"])
    record_audit(Actor.system("integrator"), integration, "needs_reauth", {"last_error": [None, message]})


def do_rotate_encryption(actor: Actor) -> int:
    """Re-encrypt every integration's credentials with the newest key; returns how many were re-encrypted."""
    box = default_box()
    changed: list[Integration] = []
    with transaction.atomic():
        for integration in Integration.objects.select_for_update().exclude(credentials_encrypted=""):
            try:
                integration.credentials_encrypted = box.rotate(integration.credentials_encrypted)
            except InvalidToken:
                raise ValidationError(
                    f"The credentials of integration '{integration.name}' cannot be decrypted with any configured "
                    "key; add the key that encrypted them to RMMBRIDGE_ENCRYPTION_KEYS (after the new one) and "
                    "run the rotation again. Nothing was changed."
                ) from None
            changed.append(integration)
        Integration.objects.bulk_update(changed, ["credentials_encrypted"], batch_size=500)
        record_audit_many(actor, [(i, "rotate_encryption", {}) for i in changed])
    return len(changed)


def do_rename_integration(actor: Actor, integration: Integration, name: str) -> bool:
    """Rename an integration; returns True when the name changed."""
    name = _clean_name(name)
    if name == integration.name:
        return False
    _check_name_free(name, int(integration.pk))
    old, integration.name = integration.name, name
    integration.save(update_fields=["name", "updated_at"])
    record_audit(actor, integration, "rename", {"name": [old, name]})
    return True
