"""Wall time of AWS's asynchronous schedules, run in virtual time.

Prints, from one run:
- one event's full failing schedule: 3 attempts over 3 simulated minutes, then the on-failure
  destination and the DLQ (target <= 10 ms);
- one event throttled until its 6-hour maximum age runs out (target <= 200 ms);
- 10,000 events where 30% fail twice before succeeding and 10% always fail: attempts per
  second (target >= 5,000) and peak memory;
- as a baseline from the same run, the handler called directly on one loop as many times, and
  the ratio.

Run: python benchmarks/bench_async.py
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from typing import Any

from pytest_lambda_async import Invoker, VirtualClock


async def always_fails(event: Any, context: Any) -> None:
    raise RuntimeError("boom")


def failing_schedule() -> float:
    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(always_fails, on_failure=invoker.sink("f"), dead_letter_target=invoker.sink("d"))
    fn.invoke({})  # the cold start is not what is measured
    start = time.perf_counter()
    fn.invoke_async({"n": 1})
    (outcome,) = invoker.run_until_idle()
    elapsed = time.perf_counter() - start
    assert outcome.attempts == 3 and len(invoker.sinks) == 2
    invoker.close()
    return elapsed


def throttled_expiry() -> float:
    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(always_fails, on_failure=invoker.sink("f"))
    fn.inject_faults(throttles=10_000)
    start = time.perf_counter()
    fn.invoke_async({})
    (outcome,) = invoker.run_until_idle()
    elapsed = time.perf_counter() - start
    assert outcome.condition == "EventAgeExceeded" and outcome.attempts == 0
    invoker.close()
    return elapsed


async def mixed(event: Any, context: Any) -> str:
    seen = ATTEMPTS[context.aws_request_id] = ATTEMPTS.get(context.aws_request_id, 0) + 1
    kind = event["kind"]
    if kind == "always" or (kind == "twice" and seen <= 2):
        raise RuntimeError("planned")
    return "ok"


ATTEMPTS: dict[str, int] = {}


def many_events(count: int = 10_000, *, trace_memory: bool = False) -> tuple[float, int, int]:
    ATTEMPTS.clear()
    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(mixed, on_failure=invoker.sink("f"), on_success=invoker.sink("s"))
    if trace_memory:
        tracemalloc.start()
    start = time.perf_counter()
    for n in range(count):
        kind = "twice" if n % 10 < 3 else "always" if n % 10 == 3 else "ok"
        fn.invoke_async({"n": n, "kind": kind})
    outcomes = invoker.run_until_idle()
    elapsed = time.perf_counter() - start
    peak = 0
    if trace_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert len(outcomes) == count
    attempts = sum(o.attempts for o in outcomes)
    invoker.close()
    return elapsed, attempts, peak


def baseline(calls: int) -> float:
    loop = asyncio.new_event_loop()

    async def ok(event: Any, context: Any) -> str:
        return "ok"

    start = time.perf_counter()
    for n in range(calls):
        loop.run_until_complete(ok({"n": n}, None))
    elapsed = time.perf_counter() - start
    loop.close()
    return elapsed


def main() -> None:
    schedule = min(failing_schedule() for _ in range(5))
    print("failing schedule (3 attempts, 3 simulated min, destination + DLQ): "
          f"{schedule * 1000:8.2f} ms (target <= 10)")
    expiry = min(throttled_expiry() for _ in range(3))
    print("6-hour throttled expiry:                                          "
          f"{expiry * 1000:8.2f} ms (target <= 200)")
    elapsed, attempts, _ = many_events()
    _, _, peak = many_events(trace_memory=True)  # a second run: tracing memory slows it down
    print(f"10,000 events (30% fail twice, 10% always): {attempts} attempts in {elapsed:.2f} s = "
          f"{attempts / elapsed:,.0f} attempts/s (target >= 5,000); peak memory {peak / 2**20:.1f} MiB")
    bare = baseline(attempts)
    print(f"baseline, the handler on one bare loop {attempts} times: {bare:.2f} s; "
          f"ratio plugin/bare {elapsed / bare:.1f}")


if __name__ == "__main__":
    main()
