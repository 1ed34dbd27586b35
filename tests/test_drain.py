"""The async queue's drain: what it leaves behind stays byte for byte what it was before it was
made faster (`drain_scenario.py`, `golden/drain.txt`), and the work it skips is skipped."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import drain_scenario

from pytest_lambda_async import Invoker, destinations, runtime

GOLDEN = Path(__file__).parent / "golden" / "drain.txt"


def test_the_drain_leaves_exactly_what_it_did() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        lines = drain_scenario.document().splitlines()
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    differing = [(n, want, got)
                 for n, (want, got) in enumerate(zip(expected, lines, strict=False)) if want != got]
    assert (len(lines), differing[:3]) == (len(expected), [])


def test_a_sink_takes_the_record_without_its_json_text(lambda_invoker: Invoker,
                                                       monkeypatch: Any) -> None:
    deliveries: list[destinations.Delivery] = []
    deliver = destinations.deliver

    def spy(target: Any, delivery: destinations.Delivery, invoker: Any) -> None:
        deliveries.append(delivery)
        deliver(target, delivery, invoker)

    monkeypatch.setattr("pytest_lambda_async.asyncqueue.deliver", spy)
    fn = lambda_invoker.deploy(lambda event, context: 1 / 0, maximum_retry_attempts=0,
                               on_failure=lambda_invoker.sink("f"),
                               dead_letter_target=lambda_invoker.sink("d"))
    fn.invoke_async({"n": 1})
    lambda_invoker.run_until_idle()
    assert [d.role for d in deliveries] == ["on_failure", "dead_letter_target"]
    assert all("body" not in vars(d) for d in deliveries)  # never made
    # Made when asked for, as it was made before: the record's JSON, the DLQ's event as sent.
    record = lambda_invoker.sinks[fn.settings.on_failure.arn].records[0]
    assert deliveries[0].body == runtime.marshal_response(record).decode()
    assert deliveries[1].body == '{"n": 1}'


def test_timestamps_are_the_iso_text_of_their_instant() -> None:
    for when in (0.0, 1_700_000_000.0005, 1_700_000_000.9999, 1_700_000_000.25):
        for milliseconds in (True, False):
            assert destinations.timestamp(when, milliseconds=milliseconds) == \
                destinations.iso(when, milliseconds=milliseconds)
            assert destinations.timestamp(when, milliseconds=milliseconds) == \
                destinations.iso(when, milliseconds=milliseconds)  # the cached answer too
