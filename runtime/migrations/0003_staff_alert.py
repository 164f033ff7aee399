from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("runtime", "0002_polling_lease"),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffAlert",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(help_text="What is watched, e.g. component:parser", max_length=100, unique=True)),
                ("raised_at", models.DateTimeField(blank=True, help_text="When staff were told of the trouble; empty while well", null=True)),
            ],
            options={
                "ordering": ["key"],
            },
        ),
    ]
