from listings.component import ParserComponent
from runtime.commands import RunComponentsCommand


class Command(RunComponentsCommand):
    help = "Run only the parser: fetch due sources, store listings and deliver notifications."

    def components(self):
        return ParserComponent(), []
