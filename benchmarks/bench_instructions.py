"""Instructions per invocation, counted by valgrind: figures that do not move with the machine's load.

`bench_invoke.py` times `fn.invoke` against the spec floor, and on a shared machine one run's
noise (a few microseconds an invoke) is as large as most changes. This script counts the CPU
instructions one warm invocation executes instead (valgrind's callgrind, between two marker
calls, with a fixed hash seed), which repeat within a fraction of a percent from run to run:
- `fn.invoke` on a trivial `async def` handler and on a trivial `def` handler, and on the
  `async def` one with leak detection on (as the plugin's fixtures have it by default);
- the spec floor and the bare loop of `bench_invoke.py`, and the ratio of each invoke to the floor;
- with `--breakdown`, what each piece of the plugin's machinery costs in an `async def` invoke:
  the count again with that piece replaced by a no-op (the run is not a working simulation, only
  a measurement), and the difference.

Needs valgrind (`apt install valgrind`); without it the script says so and exits. Slow: each
count runs Python under valgrind (about 30 s each).

Run: python benchmarks/bench_instructions.py [--invokes 1000] [--breakdown]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

CASES = ("async def", "def", "async def, leak detection on", "spec floor", "bare loop")
# What --breakdown replaces with a no-op, one at a time, in an `async def` invoke.
PIECES = {
    "user-code scope (environ, modules, cwd, path, policy, output, deadline)": "user_code",
    "simulation scope (lock, running loop, real-time guard, log handler, SIGINT)": "simulation",
    "START/END/REPORT lines": "lines",
    "request id and trace header": "ids",
    "the invoker's history record": "record",
}


def _child(case: str, invokes: int, ablate: str) -> None:
    """Run `invokes` warm invocations of `case` between the two marker calls valgrind watches."""
    from pytest_lambda_async import Invoker, LambdaContext, LeakDetector, VirtualClock, runtime

    async def async_handler(event: Any, context: Any) -> dict[str, Any]:
        return {"ok": event["n"]}

    def def_handler(event: Any, context: Any) -> dict[str, Any]:
        return {"ok": event["n"]}

    _ablate(ablate)
    clock = VirtualClock()
    # Leak detection as the plugin's fixtures turn it on by default (bench_leaks.py times it).
    detector = LeakDetector(mode="fail" if "leak detection" in case else "off")
    invoker = Invoker(clock, observers=[detector.observer] if detector.active else [])
    fn = invoker.deploy(def_handler if case == "def" else async_handler, name="bench")
    event = {"n": 1}
    loop = asyncio.new_event_loop()

    def context() -> LambdaContext:
        return LambdaContext(
            aws_request_id="id", function_name="bench", function_version="$LATEST",
            memory_limit_in_mb="128", invoked_function_arn="arn", log_group_name="g",
            log_stream_name="s", deadline_ms=0, clock=clock,
        )

    ctx = context()

    def spec_floor() -> Any:  # as in bench_invoke.py
        body = runtime.encode_event(event, limit=runtime.MAX_SYNC_PAYLOAD)
        value = loop.run_until_complete(async_handler(runtime.unmarshal_request(body), context()))
        return runtime.unmarshal_request(runtime.marshal_response(value))

    run: Callable[[], Any] = {
        "spec floor": spec_floor,
        "bare loop": lambda: loop.run_until_complete(async_handler(event, ctx)),
    }.get(case, lambda: fn.invoke(event))
    for _ in range(300):  # cold start and first-call caches out of the way
        run()
    os.getppid()  # valgrind zeroes its counts here...
    for _ in range(invokes):
        run()
    os.getpgrp()  # ...and writes them out here
    invoker.close()
    detector.close()
    loop.close()


def _ablate(piece: str) -> None:
    """Replace one piece of the machinery with a no-op (--breakdown only)."""
    if not piece:
        return
    from pytest_lambda_async import environment, invoker, scopes

    class Nothing:
        def __enter__(self) -> None:
            pass

        def __exit__(self, *exc: object) -> None:
            pass

    env, scope, inv = environment.ExecutionEnvironment, scopes.SimulationScope, invoker.Invoker
    no_ops: dict[str, list[tuple[Any, str, Any]]] = {
        "user_code": [(env, "user_code", lambda *a, **k: Nothing())],
        "simulation": [(scope, "_enter_locked", lambda self: None),
                       (scope, "__exit__", lambda self, *exc: self._lock.release())],
        "lines": [(env, "_write_start", lambda *a: None), (env, "_write_end", lambda *a: None)],
        "ids": [(inv, "_request_id", lambda self: "id"), (inv, "_trace_header", lambda self: b"Root=1-0-0")],
        "record": [(inv, "_record_invocation", lambda *a, **k: None)],
    }
    for owner, name, replacement in no_ops[piece]:
        setattr(owner, name, replacement)


def count(case: str, invokes: int, ablate: str = "") -> int:
    """Instructions per invocation of `case`, counted by callgrind between the markers."""
    with tempfile.TemporaryDirectory() as out:
        child = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg",
             "--zero-before=os_getppid", "--dump-before=os_getpgrp",
             sys.executable, __file__, "--child", case, "--invokes", str(invokes), "--ablate", ablate],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        # The dump made at the second marker (cg.1) holds what ran since the first; the file
        # written at exit (cg) holds the rest.
        if not os.path.exists(f"{out}/cg.1"):
            raise SystemExit(f"the count of {case!r} failed:\n{child.stderr[-2000:]}")
        with open(f"{out}/cg.1") as f:
            totals = [line for line in f if line.startswith("totals:")]
    return int(totals[0].split()[1]) // invokes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=1000)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--ablate", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.invokes, args.ablate)
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: this benchmark counts instructions with it (apt install valgrind).")
        return
    jobs = [(case, "") for case in CASES]
    if args.breakdown:
        jobs += [("async def", piece) for piece in PIECES.values()]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count(job[0], args.invokes, job[1]), jobs), strict=True))
    floor = counts["spec floor", ""]
    for case in CASES:
        figure = counts[case, ""]
        print(f"{case + ':':30s} {figure:9,d} instructions/invoke  ({figure / floor:.2f}x the spec floor)")
    if args.breakdown:
        whole = counts["async def", ""]
        print("what each piece costs in an async def invoke (the count without it, subtracted):")
        for name, piece in PIECES.items():
            saved = whole - counts["async def", piece]
            print(f"  {saved:8,d} ({saved / whole:5.1%})  {name}")


if __name__ == "__main__":
    main()
