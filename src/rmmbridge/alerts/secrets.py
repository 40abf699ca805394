"""Re-encrypt the alerts app's secrets (webhook secrets, IMAP passwords) with the newest encryption key."""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError
from django.db import transaction

from rmmbridge.alerts.models import AlertingConfig, Mailbox
from rmmbridge.common.secrets import default_box


def rotate_alert_secrets() -> int:
    """Rotate every stored webhook secret and mailbox password; returns how many were re-encrypted.

    All or nothing: a secret no configured key can decrypt stops the rotation with a message saying what to do.
    """
    box = default_box()
    count = 0
    with transaction.atomic():
        for config in AlertingConfig.objects.select_for_update().exclude(webhook_secret_encrypted=""):
            try:
                config.webhook_secret_encrypted = box.rotate(config.webhook_secret_encrypted)
            except InvalidToken:
                raise ValidationError(
                    f"The webhook secret of '{config.integration}' cannot be decrypted with any configured key; "
                    "add the old key to RMMBRIDGE_ENCRYPTION_KEYS (after the new one) or regenerate the secret. "
                    "Nothing was changed."
                ) from None
            config.save(update_fields=["webhook_secret_encrypted"])
            count += 1
        for mailbox in Mailbox.objects.select_for_update().exclude(password_encrypted=""):
            try:
                mailbox.password_encrypted = box.rotate(mailbox.password_encrypted)
            except InvalidToken:
                raise ValidationError(
                    f"The password of mailbox '{mailbox.name}' cannot be decrypted with any configured key; add the "
                    "old key to RMMBRIDGE_ENCRYPTION_KEYS (after the new one) or set the password again. "
                    "Nothing was changed."
                ) from None
            mailbox.save(update_fields=["password_encrypted"])
            count += 1
    return count
