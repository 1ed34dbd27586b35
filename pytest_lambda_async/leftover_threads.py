"""Threads that handler code left running must not keep pytest's process alive at its end.

On Lambda such a thread is frozen with its environment and never holds anything up. Here the
interpreter would wait for every non-daemon thread before exiting, so a handler that started a
thread that never ends would hang pytest after its summary. Threads that handler code starts
are noted; if any is still running when the interpreter shuts down, the process ends without
waiting for it (after the usual `atexit` functions), with pytest's own exit status. The
threads are noted as handler code starts them (`realwork.ThreadWaits`).
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread as _pool
import contextlib
import os
import sys
import threading
import weakref
from types import FrameType
from typing import Any

# Threads started while handler code ran, that were not daemons.
_started: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_registered = False
# pytest's exit status, set by the plugin at the end of the session.
exit_status = 0


def note(thread: threading.Thread) -> None:
    """Handler code starts `thread`, a non-daemon thread: it must not hold up pytest's exit."""
    global _registered
    _started.add(thread)
    if not _registered:
        _registered = True
        # Called by threading._shutdown before it joins non-daemon threads.
        threading._register_atexit(_at_shutdown)  # type: ignore[attr-defined]


def running() -> list[threading.Thread]:
    return [thread for thread in _started if thread.is_alive()]


_POOL_WORKER = _pool._worker.__code__


def pool_worker_between_jobs(frame: FrameType) -> bool:
    """True if `frame` is a ThreadPoolExecutor worker's loop waiting for its next job, with no
    job in hand and none queued for it."""
    if frame.f_code is not _POOL_WORKER:
        return False
    local = frame.f_locals
    work_queue = local.get("work_queue")
    return "work_item" not in local and work_queue is not None and work_queue.empty()


def _holding_up_exit(threads: list[threading.Thread]) -> list[threading.Thread]:
    # A pool worker between jobs does not: its executor's own exit hook, which runs after this
    # one, hands it the sentinel it ends on (asyncio.to_thread's and run_in_executor's pools).
    frames = sys._current_frames()
    return [thread for thread in threads if not (
        (frame := frames.get(thread.ident or -1)) is not None and pool_worker_between_jobs(frame))]


def _at_shutdown() -> None:
    left = _holding_up_exit(running())
    if not left:
        return
    names = ", ".join(sorted(thread.name for thread in left))
    sys.stderr.write(
        f"pytest-lambda-async: {len(left)} thread(s) that handler code started were still running "
        f"at exit ({names}); the process ends without waiting for them, as Lambda would have "
        "frozen them with their environment.\n"
    )
    _exit_now()


def _exit_now() -> Any:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream has nothing left to flush
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(exit_status)
