"""Give integrations that existed before device buttons their vendor's default buttons."""

from django.db import migrations

DEFAULTS = {
    "cw_automate": [
        ("Device in Automate", "{base_url}/automate/computer/{$CAUTOMATEID}"),
        ("Control", "{base_url}/extensions/4da1ae45-1be1-4683-b71e-fed1bfc01788/launchproxy.html?i={$CAUTOMATEID}"),
    ],
    "datto_rmm": [("Device in Datto RMM", "{portalUrl}"), ("Web remote", "{webRemoteUrl}")],
    "ninjaone": [("Device in NinjaOne", "{base_url}/#/deviceDashboard/{rmm_id}/overview")],
}


def add_defaults(apps, schema_editor):
    Integration = apps.get_model("integrations", "Integration")
    DeviceButton = apps.get_model("buttons", "DeviceButton")
    for integration in Integration.objects.all():
        if DeviceButton.objects.filter(integration=integration).exists():
            continue
        for position, (label, template) in enumerate(DEFAULTS.get(integration.vendor, []), start=1):
            DeviceButton.objects.create(integration=integration, label=label, url_template=template, position=position)


class Migration(migrations.Migration):
    dependencies = [("buttons", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
