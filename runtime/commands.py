"""What the run* management commands share: checks before starting, then the components."""

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from runtime.checks import MISSING_SECRET_KEY, secret_key_is_missing
from runtime.components import run_components
from telegram_bot.client import MissingBotToken, bot_token

logger = logging.getLogger(__name__)


class RunComponentsCommand(BaseCommand):
    """Base for runall, runbot, runparser and runworker."""

    # Checked in handle(), after the token and the key: a missing one deserves one line, not a
    # report.
    requires_system_checks = []

    def components(self):
        """(main, background): the component for the main thread and those for threads."""
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            bot_token()
        except MissingBotToken as error:
            raise CommandError(str(error)) from None
        if secret_key_is_missing():
            raise CommandError(MISSING_SECRET_KEY)
        self.check()
        ensure_migrated()

        main, background = self.components()
        fatal = run_components(main, background)
        logger.info("stopped %s", ", ".join(c.name for c in [main, *background]))
        if fatal:
            raise CommandError(fatal[0])


def ensure_migrated():
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:
        raise CommandError(f"cannot reach the database: {error}") from None
    finally:
        connection.close()
    if pending:
        raise CommandError(
            f"the database lacks {len(pending)} migrations: run `python manage.py migrate` first"
        )
