# A maintenance notice records who was told which revision; its e-mail's sending state lives in
# its outbox delivery now (carried over by 0005), which every notice has.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outages", "0005_notices_to_outbox"),
        ("portal", "0002_outbox_delivery"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="maintenancenotice",
            name="attempts",
        ),
        migrations.RemoveField(
            model_name="maintenancenotice",
            name="error",
        ),
        migrations.RemoveField(
            model_name="maintenancenotice",
            name="sent_at",
        ),
        migrations.RemoveField(
            model_name="maintenancenotice",
            name="status",
        ),
        migrations.AlterField(
            model_name="maintenancenotice",
            name="delivery",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="portal.delivery",
                verbose_name="e-mail delivery",
            ),
        ),
    ]
