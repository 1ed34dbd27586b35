"""Wall time of AWS's asynchronous schedules, run in virtual time.

Prints, from one run:
- one event's full failing schedule: 3 attempts over 3 simulated minutes, then the on-failure
  destination and the DLQ (target <= 10 ms);
- one event throttled until its 6-hour maximum age runs out (target <= 200 ms);
- 10,000 events where 30% fail twice before succeeding and 10% always fail: attempts per
  second (target >= 20,000), tracemalloc's peak, and the peak RSS of a fresh process that runs
  only that drain (`--drain-rss`: the interpreter, the plugin's imports and the drain, not
  polluted by the rest of this run; VmHWM on Linux); and, as a breakdown, what the drain's
  cold starts cost in directories alone: each environment makes its own /tmp, and a mkdir in
  this machine's temporary directory may take anything from microseconds (tmpfs) to a third of
  a millisecond (a slow disk), enough to swing the attempts per second by a fifth; and what
  the garbage collector takes of a drain (a separate run, its collections timed through
  `gc.callbacks`): the objects a drain keeps (outcomes, histories, records, environments) and
  the events in flight make it collect, and each full collection walks all of them;
- as a baseline from the same run, the handler called directly on one loop as many times, and
  the ratio;
- real I/O: invocations of a handler that asks a server on 127.0.0.1 answering after 10 ms of
  real latency, the mean simulated duration next to the mean real time of the handler (the
  simulated clock follows real time while the reply is awaited: they should agree within 20%).

Run: python benchmarks/bench_async.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from typing import Any

from pytest_lambda_async import Invoker, VirtualClock
from pytest_lambda_async.clock import RealTime


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
# Environments the last many_events() drain made (each a cold start, with its own /tmp).
ENVIRONMENTS = [0]


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
    ENVIRONMENTS[0] = len(fn.environments)
    invoker.close()
    return elapsed, attempts, peak


def gc_cost() -> tuple[float, float, int, int]:
    """A drain's wall time, the time its garbage collections took, and how many there were (all
    generations, and full ones), from a run of its own with the collections timed."""
    spent = [0.0, 0.0]
    counts = [0, 0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - spent[1]
            counts[0] += 1
            counts[1] += info["generation"] == 2

    gc.callbacks.append(timed)
    try:
        elapsed, _, _ = many_events()
    finally:
        gc.callbacks.remove(timed)
    return elapsed, spent[0], counts[0], counts[1]


def mkdir_cost(count: int = 200) -> float:
    """Mean seconds of one mkdir in the temporary directory environments make their /tmp in."""
    parent = tempfile.mkdtemp(prefix="bench-async-")
    paths = [os.path.join(parent, str(n)) for n in range(count)]
    start = time.perf_counter()
    for path in paths:
        os.mkdir(path, 0o700)
    elapsed = time.perf_counter() - start
    for path in paths:
        os.rmdir(path)
    os.rmdir(parent)
    return elapsed / count


def drain_rss() -> int:
    """Peak RSS in bytes of a fresh interpreter that runs only the 10,000-event drain."""
    out = subprocess.run([sys.executable, __file__, "--drain-rss"], check=True, capture_output=True,
                         text=True).stdout
    return int(out.split()[-1])


def _drain_rss_child() -> None:
    many_events()
    print(_peak_rss())


def _peak_rss() -> int:
    """This process's peak RSS in bytes. On Linux, VmHWM: ru_maxrss would also count the RSS of
    the parent that spawned it (Linux carries the high-water mark across the exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


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


LATENCY = 0.010


def _latency_server(stop: threading.Event) -> tuple[int, threading.Thread]:
    """A TCP server on 127.0.0.1 answering each line after LATENCY real seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)

    def answer(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                time.sleep(LATENCY)
                conn.sendall(data)

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def real_latency(count: int = 50) -> tuple[float, float]:
    """Mean simulated duration and mean real time of the handler of one invocation against the
    server (the real time the handler itself measured, from its start to its return)."""
    stop = threading.Event()
    port, thread = _latency_server(stop)

    async def ask(event: Any, context: Any) -> float:
        # The handler's own real time (RealTime: handler code reads simulated time).
        started = RealTime.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        await writer.wait_closed()
        assert line == b"ping\n"
        return RealTime.perf_counter() - started

    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(ask, timeout=10)
    fn.invoke({})  # the cold start is not what is measured
    simulated = real = 0.0
    for _ in range(count):
        result = fn.invoke({})
        assert result.function_error is None, result.payload
        simulated += result.duration
        real += result.payload
    invoker.close()
    stop.set()
    thread.join()
    return simulated / count, real / count


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
          f"{attempts / elapsed:,.0f} attempts/s (target >= 20,000); tracemalloc peak "
          f"{peak / 2**20:.1f} MiB")
    mkdir = mkdir_cost()
    cold = ENVIRONMENTS[0]
    print(f"  of which {cold:,} cold starts, each making its /tmp: mkdir in {tempfile.gettempdir()} "
          f"takes {mkdir * 1e6:.0f} us here, {cold * mkdir:.2f} s in all "
          f"({100 * cold * mkdir / elapsed:.0f}% of the drain)")
    gc_elapsed, collecting, collections, full = gc_cost()
    print(f"  and garbage collection: {collections} collections ({full} full), {collecting:.2f} s "
          f"of a drain of {gc_elapsed:.2f} s ({100 * collecting / gc_elapsed:.0f}%; a run of its own)")
    rss = drain_rss()
    print(f"10,000 events, peak RSS of a fresh process running only the drain: {rss / 2**20:.1f} MiB")
    bare = baseline(attempts)
    print(f"baseline, the handler on one bare loop {attempts} times: {bare:.2f} s; "
          f"ratio plugin/bare {elapsed / bare:.1f}")
    simulated, real = real_latency()
    print(f"real I/O, a server with {LATENCY * 1000:.0f} ms latency: simulated duration "
          f"{simulated * 1000:.2f} ms, real time {real * 1000:.2f} ms per invocation; "
          f"ratio {simulated / real:.2f} (target 0.8-1.2)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--drain-rss"]:
        _drain_rss_child()
    else:
        main()
