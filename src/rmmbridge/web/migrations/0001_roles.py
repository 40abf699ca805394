"""The role groups (Administrators, Technicians, Read-only) and their permissions; existing users get a role."""

from __future__ import annotations

from typing import Any

from django.db import migrations

PERMISSIONS = {
    "administer": "Administer integrations, credentials, settings, secrets, tokens and users",
    "operate": "Work tickets, assets and customers; run syncs, previews and imports",
    "view": "Read every page (request logs without bodies)",
}
GROUPS = {"Administrators": ("administer", "operate", "view"), "Technicians": ("operate", "view"),
          "Read-only": ("view",)}
ADMIN_MODEL_PERMS = ("add_user", "change_user", "delete_user", "view_user", "view_group")


def create_roles(apps: Any, schema_editor: Any) -> None:
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    user_model = apps.get_model("auth", "User")
    role_type, _ = content_type_model.objects.get_or_create(app_label="web", model="role")
    perms = {}
    for codename, name in PERMISSIONS.items():
        perms[codename], _ = permission_model.objects.get_or_create(
            content_type=role_type, codename=codename, defaults={"name": name})
    groups = {}
    for name, codenames in GROUPS.items():
        groups[name], _ = group_model.objects.get_or_create(name=name)
        groups[name].permissions.add(*(perms[c] for c in codenames))
    groups["Administrators"].permissions.add(*permission_model.objects.filter(
        content_type__app_label="auth", codename__in=ADMIN_MODEL_PERMS))  # on a fresh database: after migrate
    # People who could do everything before roles existed keep what they need: staff administer, others operate.
    for user in user_model.objects.filter(is_superuser=False, groups__isnull=True):
        user.groups.add(groups["Administrators"] if user.is_staff else groups["Technicians"])


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length"), ("contenttypes", "0002_remove_content_type_name")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
