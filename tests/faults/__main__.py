"""`python -m tests.faults`: run every fault scenario against `manage.py runall` and print the
summary table; exits 1 when a scenario lost or repeated an alert or broke another promise."""

import argparse
import contextlib
import functools
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

DEFAULT_SECONDS = {"outage": 120.0, "storm": 30.0, "load": 60.0}
QUICK_SECONDS = {"outage": 20.0, "storm": 10.0, "load": 20.0}


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tests.faults.postgres import Cluster
    from tests.faults.scenarios import SCENARIOS
    from tests.faults.verdict import details, markdown_table, text_table
    from tests.faults.world import Databases

    options = parse_arguments(argv, [s.name for s in SCENARIOS])
    chosen = [s for s in SCENARIOS if not options.only or s.name in options.only]
    if options.database == "sqlite":
        skipped = [s.name for s in chosen if s.database == "postgres"]
        chosen = [s for s in chosen if s.database != "postgres"]
        if skipped:
            say(f"skipped on SQLite (they restart PostgreSQL): {', '.join(skipped)}")

    workdir = Path(tempfile.mkdtemp(prefix="rentwatch-faults-"))
    say(f"logs go to {workdir}")
    rows = []
    with contextlib.ExitStack() as stack:
        needs_postgres = any(database_kind(s, options) == "postgres" for s in chosen)
        options.cluster = stack.enter_context(Cluster()) if needs_postgres else None
        databases = Databases(workdir, options.cluster)
        for scenario in chosen:
            rows.append(run_scenario(scenario, options, workdir, databases))

    if options.markdown:
        print(markdown_table(rows))
        say(details(rows))
    else:
        print(text_table(rows))
        print(details(rows))
    say(f"total {sum(row.took for row in rows):.0f} s; logs in {workdir}")
    return 0 if all(row.passed for row in rows) else 1


def parse_arguments(argv, names):
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this scenario (repeatable): {', '.join(names)}",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the summary table in Markdown, for the README",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="shorter faults: a 20 s outage, a 10 s storm, 20 s of load",
    )
    parser.add_argument(
        "--outage",
        type=float,
        metavar="SECONDS",
        help="how long the Bot API is down (default 120)",
    )
    parser.add_argument(
        "--storm", type=float, metavar="SECONDS", help="how long the 429 storm blows (default 30)"
    )
    parser.add_argument(
        "--load",
        type=float,
        metavar="SECONDS",
        help="how long the SQLite scenario writes at full speed (default 60)",
    )
    parser.add_argument(
        "--database",
        choices=["postgres", "sqlite"],
        default="postgres",
        help="where the scenarios that need no particular database run: a "
        "throwaway PostgreSQL cluster of the suite's own (default) or SQLite",
    )
    options = parser.parse_args(argv)  # fmt: skip

    durations = QUICK_SECONDS if options.quick else DEFAULT_SECONDS
    for name, seconds in durations.items():
        if getattr(options, name) is None:
            setattr(options, name, seconds)
    return options


def database_kind(scenario, options):
    return scenario.database or options.database


def run_scenario(scenario, options, workdir, databases):
    """Run one scenario in a world of its own; returns its judged Row."""
    from tests.faults.verdict import Row, judge
    from tests.faults.world import Stage

    row = Row(scenario.name, scenario.title)
    started = time.monotonic()
    say(f"{scenario.name}: {scenario.title}…")
    try:
        kind = database_kind(scenario, options)
        database = functools.partial(databases.fresh, kind)
        with Stage(scenario.name, workdir, database, **(scenario.settings or {})) as stage:
            try:
                ended = scenario.run(stage, options)
                stage.check_the_bot_answers()
            finally:
                stage.stop_all()
            allowed = getattr(stage, scenario.may_repeat or "", frozenset())
            judge(stage, row, ended, allowed)
            row.problems[:0] = stage.problems
            row.notes[:0] = stage.notes
    except Exception as error:
        row.problems.append(f"the scenario itself failed: {error!r}"[:500])
        (workdir / f"{scenario.name}.traceback.txt").write_text(traceback.format_exc())
    row.took = time.monotonic() - started
    say(f"{scenario.name}: {'pass' if row.passed else 'FAIL'} in {row.took:.0f} s")
    return row


def say(text):
    if text:
        print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
