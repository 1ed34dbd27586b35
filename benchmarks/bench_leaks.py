"""Per-invocation cost of leak detection, as a ratio to detection off, measured in one run.

    python benchmarks/bench_leaks.py [invocations]

Target: <= 1.2 for both handler shapes. Rounds alternate between the two settings so that
machine noise falls on both alike; the best round of each is compared.
"""

from __future__ import annotations

import asyncio
import sys
import time

from pytest_lambda_async import Invoker, LeakDetector, VirtualClock


def sync_handler(event: object, context: object) -> dict[str, int]:
    return {"n": len(str(event))}


async def async_handler(event: object, context: object) -> dict[str, int]:
    task = asyncio.create_task(asyncio.sleep(0.01))
    await asyncio.sleep(0.02)
    await task
    return {"n": 1}


def per_invocation(handler: object, detect: bool, count: int) -> float:
    detector = LeakDetector(mode="fail" if detect else "off")
    invoker = Invoker(VirtualClock(), observers=[detector.observer] if detect else [])
    fn = invoker.deploy(handler, name="bench")  # type: ignore[arg-type]
    fn.invoke({})  # the cold start is not what is measured
    started = time.perf_counter()
    for _ in range(count):
        fn.invoke({})
    elapsed = time.perf_counter() - started
    invoker.close()
    detector.close()
    assert not detector.findings, detector.findings
    return elapsed / count


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    worst = 0.0
    for label, handler in (("def handler", sync_handler), ("async def handler", async_handler)):
        off, on = [], []
        for _ in range(5):
            off.append(per_invocation(handler, False, count))
            on.append(per_invocation(handler, True, count))
        ratio = min(on) / min(off)
        worst = max(worst, ratio)
        print(f"{label:28s} off {min(off) * 1e6:8.1f} us  on {min(on) * 1e6:8.1f} us  ratio {ratio:.3f}")
    print(f"worst ratio {worst:.3f} (target <= 1.2)")
    return 0 if worst <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
