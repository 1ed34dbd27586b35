"""Cost of building events with `pytest_lambda_async.events`.

Prints the time to build 10,000 SQS records (one batch of 10,000 bodies, and 1,000 batches of
10), best of five runs; the target is well under a second.

Run: python benchmarks/bench_events.py
"""

from __future__ import annotations

import time

from pytest_lambda_async import events

RECORDS = 10_000


def best_of(runs: int, build: object) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        build()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    bodies = [{"order": n, "items": [n, n + 1]} for n in range(RECORDS)]
    one_batch = best_of(5, lambda: events.sqs(*bodies, message_attributes={"kind": "retail"}))
    batches = best_of(5, lambda: [events.sqs(*bodies[n:n + 10]) for n in range(0, RECORDS, 10)])
    fifo = best_of(5, lambda: events.sqs(*bodies, queue="orders.fifo", message_group_id="g"))
    print(f"{RECORDS:,} SQS records, one batch:        {one_batch * 1000:7.1f} ms")
    print(f"{RECORDS:,} SQS records, batches of 10:    {batches * 1000:7.1f} ms")
    print(f"{RECORDS:,} SQS FIFO records, one batch:   {fifo * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
