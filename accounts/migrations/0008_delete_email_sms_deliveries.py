# The delegated-users e-mails and texts are rows of the portal's outbox now (portal.Delivery,
# carried over by 0007).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_deliveries_to_outbox")]

    operations = [
        migrations.DeleteModel(name="EmailDelivery"),
        migrations.DeleteModel(name="SmsDelivery"),
    ]
