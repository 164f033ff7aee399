from runtime.commands import RunComponentsCommand
from telegram_bot.component import BotComponent


class Command(RunComponentsCommand):
    help = "Run only the bot: answer renters in Telegram."

    def components(self):
        return BotComponent(), []
