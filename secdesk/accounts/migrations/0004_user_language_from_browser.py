"""``User.language`` blank means "the browser's choice".

Until now every account got ``en`` by default and nothing let a person pick
a language, so ``en`` was never a choice anyone made: it becomes blank.
"""

from django.db import migrations, models


def forget_the_default(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(language="en").update(language="")


def restore_the_default(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(language="").update(language="en")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_log")]

    operations = [
        migrations.AlterField(
            model_name="user", name="language", field=models.CharField(blank=True, default="", max_length=8)
        ),
        migrations.RunPython(forget_the_default, restore_the_default),
    ]
