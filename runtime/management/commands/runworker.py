from runtime.commands import RunComponentsCommand
from subscriptions.component import WorkerComponent


class Command(RunComponentsCommand):
    help = "Run only the worker: expire subscriptions and tell subscribers."

    def components(self):
        return WorkerComponent(), []
