"""Cost of a cold start (a fresh environment: init of a small handler module) against a warm
invocation of the same handler, measured in one run.

Run: python benchmarks/bench_environments.py
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
import time
from pathlib import Path

from pytest_lambda_async import EnvironmentSettings, Invoker, VirtualClock

HANDLER = textwrap.dedent("""
    import asyncio
    import json

    TABLE = {"region": "us-east-1"}

    async def handler(event, context):
        await asyncio.sleep(0.01)
        return {"echo": event, "table": TABLE}
""")


def per_invocation(reuse: str, count: int) -> float:
    invoker = Invoker(VirtualClock(), environments=EnvironmentSettings(reuse=reuse))
    fn = invoker.deploy("bench_env_handler.handler", name=f"bench-{reuse}")
    fn.invoke({})
    start = time.perf_counter()
    for n in range(count):
        result = fn.invoke({"n": n})
        assert result.cold_start is (reuse == "never")
    elapsed = time.perf_counter() - start
    invoker.close()
    return elapsed / count


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "bench_env_handler.py").write_text(HANDLER)
        sys.path.insert(0, directory)
        warm = min(per_invocation("always", 2000) for _ in range(3))
        cold = min(per_invocation("never", 300) for _ in range(3))
    print(f"warm invocation:                       {warm * 1e6:9.1f} us")
    print(f"cold start (new environment + init):   {cold * 1e6:9.1f} us")
    print(f"ratio cold/warm:                       {cold / warm:9.1f}")


if __name__ == "__main__":
    main()
