"""Judging a scenario: which alerts arrived, how many times, how long after the fault; and the
summary table, as text or as Markdown for the README."""

import collections
import json
from dataclasses import dataclass, field

# Log lines that fail any scenario, whatever it delivered.
FORBIDDEN_LOG_LINES = ("database is locked",)


@dataclass
class Row:
    scenario: str
    title: str
    expected: int = 0
    delivered: int = 0
    duplicates: int = 0
    tolerated: int = 0  # duplicates the scenario allows: messages in flight at a SIGKILL
    lost: int = 0
    recovery: float | None = None  # fault end → last expected alert; None when some never came
    took: float = 0.0
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def passed(self):
        return not self.lost and self.duplicates <= self.tolerated and not self.problems


def judge(stage, row, fault_ended_at, may_repeat=frozenset()):
    """Fill the row from the renters' chats, the outbox and the logs; call after stop_all()."""
    expected = stage.expected()
    copies = stage.ledger.copies()
    outbox = stage.deliveries()
    (stage.workdir / f"{stage.name}.outbox.json").write_text(json.dumps(outbox, indent=1))
    states = {(chat, url): rest for chat, url, *rest in outbox}

    row.expected = len(expected)
    row.delivered = sum(1 for key in expected if copies.get(key))
    lost = sorted(expected - {key for key, times in copies.items() if times})
    row.lost = len(lost)
    if lost:
        row.notes.append("lost, by outbox state: " + describe_states(lost, states))

    # A delivery still queued for an alert the renter already has will be sent again.
    queued_again = [
        key
        for key, (state, *_) in states.items()
        if state in ("pending", "sending") and copies.get(key)
    ]
    repeated = {key: len(times) - 1 for key, times in copies.items() if len(times) > 1}
    row.duplicates = sum(repeated.values()) + len(queued_again)
    row.tolerated = sum(n for key, n in repeated.items() if key in may_repeat) + sum(
        1 for key in queued_again if key in may_repeat
    )
    if queued_again:
        row.notes.append(f"{len(queued_again)} alerts already delivered are queued to go again")
    if repeated:
        row.notes.append("repeated: " + ", ".join(f"chat {c} {u}" for c, u in list(repeated)[:5]))
    unexpected = [key for key in copies if key not in expected]
    if unexpected:
        row.problems.append(f"{len(unexpected)} alerts nobody should have had")

    arrivals = [min(copies[key]) for key in expected if copies.get(key)]
    if not lost and arrivals:
        row.recovery = max(0.0, max(arrivals) - fault_ended_at)
    read_logs(stage.logs(), row)


def describe_states(keys, states):
    counted = collections.Counter()
    errors = {}
    for key in keys:
        state, _attempts, error = states.get(key, ("no delivery row", 0, ""))
        counted[state] += 1
        if error:
            errors.setdefault(state, error)
    return "; ".join(
        f"{n} {state}" + (f" (last error: {errors[state][:120]!r})" if state in errors else "")
        for state, n in counted.most_common()
    )


def read_logs(log, row):
    for line in FORBIDDEN_LOG_LINES:
        if line in log:
            row.problems.append(f'"{line}" in the log ({log.count(line)} times)')
    crashes = collections.Counter(
        line.split("] ", 1)[-1].split(":", 1)[0]
        for line in log.splitlines()
        if "crashed (restart" in line
    )
    if crashes:
        row.notes.append(
            "components restarted after a crash: "
            + ", ".join(f"{name} ×{n}" for name, n in crashes.items())
        )


# -- the table


HEADERS = ["scenario", "alerts expected", "delivered", "duplicates", "lost", "recovery", "result"]


def cells(row):
    duplicates = str(row.duplicates)
    if row.tolerated:
        duplicates += f" ({row.tolerated} in flight at the kill)"
    recovery = "never" if row.recovery is None else f"{row.recovery:.1f} s"
    result = "pass" if row.passed else "FAIL"
    return [
        row.title, str(row.expected), str(row.delivered), duplicates, str(row.lost), recovery,
        result,
    ]  # fmt: skip


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows):
    table = [HEADERS, *map(cells, rows)]
    widths = [max(len(line[n]) for line in table) for n in range(len(HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )


def details(rows):
    """What went wrong or is worth knowing, scenario by scenario."""
    lines = []
    for row in rows:
        if row.problems or row.notes:
            lines.append(f"{row.scenario} ({row.took:.0f} s):")
            lines += [f"  problem: {problem}" for problem in row.problems]
            lines += [f"  note: {note}" for note in row.notes]
    return "\n".join(lines)
