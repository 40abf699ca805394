"""Merge of the two 0003 migrations (missing-device both and type field; typed mappings)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sync', '0003_missing_both_and_type_field'),
        ('sync', '0004_link_veto'),
    ]

    operations = [
    ]
