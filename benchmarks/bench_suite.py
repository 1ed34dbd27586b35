"""What a test that invokes a handler once costs on top of a plain test, in a real pytest run.

Generates a suite (a test module that imports boto3, aiohttp and httpx, as suites do; N tests
that each deploy a trivial `async def` handler with `lambda_invoker` and invoke it once; N
plain tests) and runs it in pytest subprocesses, `-k test_invoke` and `-k test_plain` in turn.
A conftest in the suite times pytest's run loop (collection and start-up not counted).

Prints, best of the rounds (the machine is noisy; runs alternate, so a neighbour's burst slows
one run, not one side):
- ms per test of each kind, and the difference: the per-test cost of invoking once;
- with `--against DIR` (another checkout, e.g. `/work/main`), the same for DIR's code (run
  with `PYTHONPATH=DIR`), alternating with this checkout's, and the ratio of the two costs.

Most of what invoking once costs per test was freezegun's `start()` (see
`pytest_lambda_async/timepatch.py`); the last lines time that alone in this process, with
boto3 and friends imported: freezegun's own start+stop against the plugin's (module memo).

Run: python benchmarks/bench_suite.py [--tests 300] [--rounds 3] [--against /work/main]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = '''\
import boto3, aiohttp, httpx
import pytest


async def handler(event, context):
    return {"ok": event["n"]}


@pytest.mark.parametrize("n", range(TESTS))
def test_invoke(lambda_invoker, n):
    fn = lambda_invoker.deploy(handler)
    assert fn.invoke({"n": n}).payload == {"ok": n}


@pytest.mark.parametrize("n", range(TESTS))
def test_plain(n):
    assert n >= 0
'''

CONFTEST = '''\
import os, time
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        with open(os.environ["BENCH_SUITE_OUT"], "w") as out:
            out.write(repr(time.perf_counter() - start))
'''


def make_suite(directory: Path, tests: int) -> None:
    (directory / "test_suite.py").write_text(SUITE.replace("TESTS", str(tests)))
    (directory / "conftest.py").write_text(CONFTEST)
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def run_loop_seconds(directory: Path, kind: str, code: str | None) -> float:
    """Seconds of pytest's run loop for the tests of `kind`, with `code` first on the path."""
    out = directory / "loop-seconds"
    env = dict(os.environ, BENCH_SUITE_OUT=str(out))
    if code is not None:
        env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-p", "no:xdist", "-k", kind, "-W", "ignore"],
        cwd=directory, env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"the generated suite failed ({kind}, code {code or 'this checkout'}):\n"
                 f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return float(out.read_text())


def plugin_file(code: str | None) -> str:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", "import pytest_lambda_async; print(pytest_lambda_async.__file__)"],
        env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
    ).stdout.strip()


def freezer_start_stop_ms(repeat: int = 200) -> tuple[float, float]:
    """freezegun start+stop as freezegun does it, and with the plugin's memo (best of 5 rounds)."""
    import aiohttp  # noqa: F401  what a suite has loaded
    import boto3  # noqa: F401
    import freezegun
    import freezegun.api
    import httpx  # noqa: F401
    import moto  # noqa: F401
    import pytest  # noqa: F401

    from pytest_lambda_async.timepatch import module_scans

    def once(memo: bool) -> None:
        freezer = freezegun.freeze_time("2020-01-01", real_asyncio=True)
        if memo:
            with module_scans.answering(freezegun.api, freezer):
                freezer.start()
        else:
            freezer.start()
        freezer.stop()

    best = {False: float("inf"), True: float("inf")}
    for _ in range(5):
        for memo in (False, True):
            start = time.perf_counter()
            for _ in range(repeat):
                once(memo)
            best[memo] = min(best[memo], (time.perf_counter() - start) / repeat * 1000)
    return best[False], best[True]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=300, help="tests of each kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="DIR", help="another checkout to compare with")
    args = parser.parse_args()
    codes: dict[str, str | None] = {"this checkout": None}
    if args.against:
        codes[f"{args.against}"] = os.path.abspath(args.against)
    for label, code in codes.items():
        print(f"{label}: {plugin_file(code)}")
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        directory = Path(tmp)
        make_suite(directory, args.tests)
        for _ in range(args.rounds):
            for label, code in codes.items():
                for kind in ("test_invoke", "test_plain"):
                    seconds = run_loop_seconds(directory, kind, code) / args.tests * 1000
                    best[label, kind] = min(best.get((label, kind), float("inf")), seconds)
    costs = {}
    for label in codes:
        invoke, plain = best[label, "test_invoke"], best[label, "test_plain"]
        costs[label] = invoke - plain
        print(f"[{label}] {args.tests} tests of each kind, best of {args.rounds}:")
        print(f"  test that invokes once: {invoke:7.2f} ms/test")
        print(f"  plain test:             {plain:7.2f} ms/test")
        print(f"  cost of invoking once:  {invoke - plain:7.2f} ms/test")
    if args.against:
        this, other = costs["this checkout"], costs[args.against]
        print(f"cost of invoking once, this checkout / {args.against}: {this / other:.2f} "
              f"({this:.2f} ms against {other:.2f} ms)")
    plain_ms, memo_ms = freezer_start_stop_ms()
    print(f"freezegun start+stop, {len(sys.modules)} modules loaded: freezegun alone {plain_ms:.2f} ms,"
          f" with the plugin's module memo {memo_ms:.2f} ms (ratio {plain_ms / memo_ms:.1f})")
    print(json.dumps({"cost_ms": costs, "freezer_ms": {"freezegun": plain_ms, "memo": memo_ms}}))


if __name__ == "__main__":
    main()
