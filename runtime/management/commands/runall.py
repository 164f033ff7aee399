from listings.component import ParserComponent
from runtime.commands import RunComponentsCommand
from subscriptions.component import WorkerComponent
from telegram_bot.component import BotComponent


class Command(RunComponentsCommand):
    help = "Run the bot (main thread), the parser and the worker (a thread each) until stopped."

    def components(self):
        return BotComponent(), [ParserComponent(), WorkerComponent()]
