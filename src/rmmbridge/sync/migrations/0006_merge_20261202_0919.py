"""Merge of the remote-catalog migration with the typed-mapping and missing-device ones."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sync', '0003_remote_catalog'),
        ('sync', '0005_merge_0003_missing_both_and_type_field_0004_link_veto'),
    ]

    operations = [
    ]
