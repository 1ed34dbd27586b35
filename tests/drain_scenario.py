"""A drain that touches every path of the async queue, and everything it leaves behind, as one
JSON document: `tests/test_drain.py` checks it against `tests/golden/drain.txt`, recorded
before the queue was made faster, so outcomes, attempt histories, destination records, DLQ
messages and the invocation history stay byte for byte what they were.

Run `python tests/drain_scenario.py > tests/golden/drain.txt` to record it again (only for a
change of behaviour that is meant).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

from pytest_lambda_async import Invoker, VirtualClock
from pytest_lambda_async.invoker import DeliverySettings, EnvironmentSettings

START = 1_700_000_000.25
SEEN: dict[str, int] = {}


def mixed(event: Any, context: Any) -> Any:
    seen = SEEN[context.aws_request_id] = SEEN.get(context.aws_request_id, 0) + 1
    kind = event.get("kind") if isinstance(event, dict) else None
    print(f"attempt {seen} of {kind}")
    if kind == "always" or (kind == "twice" and seen <= 2):
        raise RuntimeError(f"planned failure {seen}")
    if kind == "nested":
        return _nested(3)
    if kind == "bytes":
        return b"not json"
    if kind == "slow":
        import time
        time.sleep(5)  # simulated: past the timeout
    return {"ok": event.get("n") if isinstance(event, dict) else None}


def _nested(depth: int) -> Any:
    if depth == 0:
        raise KeyError("deep")
    return _nested(depth - 1)


async def amixed(event: Any, context: Any) -> Any:
    return mixed(event, context)


def run(mode: str, handler: Any, *, account_concurrency: int, reserved: int | None = None,
        max_age: int = 21600, retries: int = 2, count: int = 24) -> dict[str, Any]:
    SEEN.clear()
    invoker = Invoker(
        VirtualClock(START),
        environments=EnvironmentSettings(account_concurrency=account_concurrency),
        delivery=DeliverySettings(mode=mode, seed=3, duplicate_rate=0.3),
    )
    try:
        success, failure, dlq = invoker.sink("ok"), invoker.sink("failed"), invoker.sink("dlq")
        fn = invoker.deploy(handler, name="mixed", timeout=2, on_success=success, on_failure=failure,
                            dead_letter_target=dlq, maximum_event_age_in_seconds=max_age,
                            maximum_retry_attempts=retries, reserved_concurrent_executions=reserved)
        fn.inject_faults(throttles=2, service_errors=1)
        kinds = ["ok", "twice", "always", "nested", "bytes", "slow", "ok", "twice"]
        accepted = []
        for n in range(count):
            kind = kinds[n % len(kinds)]
            event: Any = {"n": n, "kind": kind}
            if n == 5:
                event = b'{"n": 5, "kind": "always", "raw": [1, 2.50, NaN]}'
            accepted.append(fn.invoke_async(event).request_id)
            if n % 13 == 0:
                invoker.clock.advance(0.5)
        outcomes = invoker.run_until_idle()
        return _plain({
            "accepted": accepted,
            "outcomes": [dataclasses.asdict(o) for o in outcomes],
            "function_outcomes": len(fn.outcomes),
            "sinks": {name: sink.records for name, sink in sorted(invoker.sinks.items())},
            "history": invoker.history,
            "unfinished": invoker.unfinished(),
            "environments": [env.id for env in fn.environments],
        })
    finally:
        invoker.close()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.decode("utf-8", "replace")}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def scenario() -> dict[str, Any]:
    return {
        "exact": run("exact", mixed, account_concurrency=3),
        "exact-async": run("exact", amixed, account_concurrency=2, max_age=200),
        "at-least-once": run("at-least-once", mixed, account_concurrency=4, retries=1),
        "reserved-zero": run("exact", mixed, account_concurrency=5, reserved=0, count=3),
        "expiring": run("exact", mixed, account_concurrency=1, max_age=60, count=12),
    }


def document() -> str:
    """The scenario as JSON text, with this checkout's paths and the Python version made neutral."""
    # One line per outcome, record and history entry: a difference shows as the lines that differ.
    lines = []
    for run_name, result in scenario().items():
        for key, value in sorted(result.items()):
            items = value.items() if isinstance(value, dict) else enumerate(value) \
                if isinstance(value, list) else [("", value)]
            for index, item in items:
                if isinstance(item, list) and key == "sinks":
                    lines.extend(f"{run_name} {key} {index} {json.dumps(record, sort_keys=True)}"
                                 for record in item)
                else:
                    lines.append(f"{run_name} {key} {index} {json.dumps(item, sort_keys=True)}")
    text = "\n".join(lines)
    here = os.path.dirname(os.path.abspath(__file__))
    package = os.path.dirname(os.path.abspath(sys.modules["pytest_lambda_async"].__file__ or ""))
    # INIT_START names this Python's runtime version.
    from pytest_lambda_async import environment
    text = text.replace(environment._RUNTIME_HASH, "<runtime-hash>")
    text = text.replace(environment._RUNTIME_VERSION, "<runtime-version>")
    return text.replace(here, "<tests>").replace(package, "<package>")


if __name__ == "__main__":
    text = document()
    sys.stdout.write(text + "\n")
