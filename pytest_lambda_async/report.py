"""The run's report: invocations, async outcomes and leaks, per test, as JSON and as a summary.

`TestRecord` collects one test's data (an `Invoker` listener, and the leak detector's
findings) as plain JSON-ready dicts, so it can travel from a pytest-xdist worker to the
controller on the test's report. `RunReport` merges the records of the whole run, writes
the `--lambda-report` document and the lines of the terminal summary.
"""

from __future__ import annotations

import datetime
import json
import os
from collections import Counter
from typing import Any

REPORT_VERSION = 1


def iso(seconds: float | None) -> str | None:
    """Simulated epoch seconds as ISO-8601 UTC ("2026-01-02T03:04:05.678000Z"), beside the number."""
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _outcome_dict(function: str, outcome: Any) -> dict[str, Any]:
    return {
        "function": function,
        "request_id": outcome.request_id,
        "status": outcome.status,
        "condition": outcome.condition,
        "attempts": outcome.attempts,
        "function_error": outcome.function_error,
        "accepted_at": outcome.accepted_at,
        "accepted_at_iso": iso(outcome.accepted_at),
        "finished_at": outcome.finished_at,
        "finished_at_iso": iso(outcome.finished_at),
        "history": [
            {
                "number": attempt.number,
                "status": attempt.status,
                "start": attempt.started_at,
                "start_iso": iso(attempt.started_at),
                "end": attempt.ended_at,
                "end_iso": iso(attempt.ended_at),
                "environment": attempt.environment_id,
                "cold_start": attempt.cold_start,
                "error_type": attempt.error_type,
            }
            for attempt in outcome.history
        ],
    }


class TestRecord:
    """What one test did: its invocations, async outcomes and leak findings."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        # As they came: the ISO times and outcome dicts are made once, by as_dict() at the end
        # of the test, not at every invocation.
        self.invocations: list[dict[str, Any]] = []
        self.outcomes: list[tuple[str, Any]] = []
        self.leaks: list[dict[str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self.invocations or self.outcomes or self.leaks)

    def listen(self, kind: str, data: dict[str, Any]) -> None:
        """An `Invoker.listeners` entry."""
        if kind == "invocation":
            self.invocations.append(dict(data))  # a copy: hooks get the same dict
        elif kind == "outcome":
            self.outcomes.append((data["function"], data["outcome"]))

    def add_leak(self, finding: Any) -> None:
        self.leaks.append(finding.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": [{**entry, "start_iso": iso(entry.get("start"))} for entry in self.invocations],
            "outcomes": [_outcome_dict(function, outcome) for function, outcome in self.outcomes],
            "leaks": self.leaks,
        }


class RunReport:
    """The records of every test in the run, merged (on the pytest-xdist controller)."""

    def __init__(self, *, plugin_version: str = "", seed: int | None = None,
                 modes: dict[str, Any] | None = None) -> None:
        self.tests: dict[str, dict[str, Any]] = {}
        self._outcomes: dict[str, str] = {}
        # What it takes to reproduce the run: the plugin's version, the seed, the modes.
        self.plugin_version = plugin_version
        self.seed = seed
        self.modes = dict(modes or {})

    def add_result(self, nodeid: str, when: str, outcome: str) -> None:
        """A phase of a test ended: the test failed if any of its phases failed."""
        if outcome == "failed" or (when == "call" and self._outcomes.get(nodeid) != "failed"):
            self._outcomes[nodeid] = outcome
        else:
            self._outcomes.setdefault(nodeid, outcome)

    def add_record(self, nodeid: str, data: dict[str, Any]) -> None:
        entry = self.tests.setdefault(nodeid, {"invocations": [], "outcomes": [], "leaks": []})
        for key in ("invocations", "outcomes", "leaks"):
            entry[key].extend(data.get(key, ()))

    def document(self) -> dict[str, Any]:
        tests = [
            {"nodeid": nodeid, "outcome": self._outcomes.get(nodeid, "unknown"), **data}
            for nodeid, data in self.tests.items()
        ]
        invocations = [i for t in tests for i in t["invocations"]]
        return {
            "version": REPORT_VERSION,
            "plugin_version": self.plugin_version,
            "seed": self.seed,
            "modes": self.modes,
            "totals": {
                "tests": len(tests),
                "tests_failed": sum(1 for t in tests if t["outcome"] == "failed"),
                "invocations": len(invocations),
                "cold_starts": sum(1 for i in invocations if i.get("cold_start")),
                "invocations_failed": sum(1 for i in invocations if i.get("status") == "failed"),
                "outcomes": dict(self._conditions()),
                "leaks": sum(len(t["leaks"]) for t in tests),
            },
            "tests": tests,
        }

    def _conditions(self) -> Counter[str]:
        return Counter(o["condition"] for data in self.tests.values() for o in data["outcomes"])

    def write(self, path: str) -> None:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(self.document(), stream, indent=2, sort_keys=False)
            stream.write("\n")

    def summary_lines(self) -> list[str]:
        """The terminal summary's "lambda" section; empty when the run used no Lambda at all."""
        if not self.tests:
            return []
        invocations = sum(len(data["invocations"]) for data in self.tests.values())
        cold = sum(1 for data in self.tests.values() for i in data["invocations"] if i.get("cold_start"))
        failed = sum(1 for data in self.tests.values() for i in data["invocations"]
                     if i.get("status") == "failed")
        lines = [f"invocations: {invocations} ({cold} cold start(s), {failed} failed)"]
        conditions = self._conditions()
        if conditions:
            lines.append("async outcomes: " + ", ".join(
                f"{condition} {count}" for condition, count in sorted(conditions.items())
            ))
        leaks = [(nodeid, leak) for nodeid, data in self.tests.items() for leak in data["leaks"]]
        lines.append(f"leaks: {len(leaks)}")
        for nodeid, leak in leaks:
            where = leak["site"] or (f"defined at {leak['defined']}" if leak["defined"] else "site unknown")
            lines.append(f"  {where} [{leak['kind']}] {leak['what']} ({nodeid})")
        if leaks:
            from .leaks.report import explanation

            lines.extend(explanation())
        return lines


def check_report_path(path: str) -> str | None:
    """Why the JSON report could not be written to `path` at the end of the run, or None."""
    fix = "Fix: give a file path such as --lambda-report=lambda-report.json."
    if not path.strip():
        return f"the path is empty. {fix}"
    if os.path.isdir(path):
        return f"{path!r} is a directory, and the report is one JSON file. {fix}"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{path!r} exists and cannot be written. {fix}"
    directory = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(directory):
        directory = os.path.dirname(directory)
    if not os.path.isdir(directory):
        return f"{directory!r} is a file, so no directory can be made there for the report. {fix}"
    if not os.access(directory, os.W_OK):
        return f"the directory {directory!r} cannot be written. {fix}"
    return None
