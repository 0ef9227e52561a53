# Each maintenance notice gets its outbox delivery (filled in by 0005).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0003_notice_attempts"),
        ("portal", "0002_outbox_delivery"),
    ]

    operations = [
        migrations.AddField(
            model_name="maintenancenotice",
            name="delivery",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="portal.delivery",
                verbose_name="e-mail delivery",
            ),
        ),
    ]
