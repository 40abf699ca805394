"""Merge of the event-rules and noise-control migrations."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0003_event_rules'),
        ('alerts', '0003_noise_control'),
    ]

    operations = [
    ]
