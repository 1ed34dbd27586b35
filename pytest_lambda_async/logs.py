"""Each invocation's own log: what its code printed or logged, and the platform's lines.

While handler code runs, `sys.stdout` and `sys.stderr` route writes to the running
invocation's log (and on to the original stream, so pytest still shows them), and the root
logger has the runtime's handler with Lambda's text format. Work that thaws in a later
invocation writes into that later invocation's log, as on Lambda. So does a stream that
handler code kept from an earlier invocation (a logging handler made during init, as
Powertools' Logger makes one): on Lambda stdout is one stream for the life of the process,
and a line belongs to the invocation running when it is written.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from typing import Any, TextIO

from . import threads

LOG_RESULT_LIMIT = 4096


class InvocationLog:
    """The lines one invocation wrote, in order."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> None:
        self._parts.append(text)

    def text(self) -> str:
        return "".join(self._parts)

    def tail(self, limit: int = LOG_RESULT_LIMIT) -> str:
        """The last `limit` bytes, as Lambda's `LogResult` holds them."""
        text = self.text()
        if 4 * len(text) <= limit:  # no character takes more than 4 bytes in UTF-8
            return text
        data = text.encode("utf-8")[-limit:]
        return data.decode("utf-8", errors="ignore")


# The logs of running handler code, innermost last, with the thread that runs it.
_current: list[tuple[InvocationLog, int]] = []


def current_log() -> InvocationLog | None:
    """The log of the handler code running on this thread (or on the thread this thread works
    for): writes from other threads (a test's server thread) belong to no invocation."""
    if not _current:
        return None
    log, thread = _current[-1]
    return log if threads.works_for(thread) else None


class _RoutedStream(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr while handler code runs.

    Writes go to the invocation running at the time of the write, not the one that was running
    when the stream was installed: code may keep the stream (`logging.StreamHandler(sys.stdout)`
    at import) and write to it in every later invocation.
    """

    def __init__(self, original: TextIO) -> None:
        self._original = original

    def write(self, text: str) -> int:
        log = current_log()
        if log is not None:
            log.write(text)
        if self._original is None:  # no stream at all (pythonw, a daemon): the log has it
            return len(text)
        return self._original.write(text)

    def flush(self) -> None:
        if self._original is None:
            return
        try:
            self._original.flush()
        except ValueError:
            # The real stream is closed (pytest's capture file, at interpreter exit, when this
            # stand-in is collected and io's finaliser flushes it): nothing is left to flush.
            if not getattr(self._original, "closed", False):
                raise

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", "utf-8") or "utf-8"

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the stream itself lacks; never recurse on a half-built one.
        original = self.__dict__.get("_original")
        if original is None:
            raise AttributeError(name)
        return getattr(original, name)


class _LambdaFormatter(logging.Formatter):
    converter = time.gmtime  # type: ignore[assignment]


class LambdaLogHandler(logging.Handler):
    """The runtime's root-logger handler: Lambda's text format, into the running invocation's log."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(
            _LambdaFormatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
        self.request_id = ""

    def emit(self, record: logging.LogRecord) -> None:
        log = current_log()
        if log is None:
            return
        record.aws_request_id = self.request_id
        try:
            log.write(self.format(record))
        except Exception:  # pragma: no cover - as logging.Handler does
            self.handleError(record)


_HANDLER = LambdaLogHandler()


# One routed stream per original stream, kept alive for the process: a thread may still be
# inside print() on a stream after this thread swapped it out, and CPython's print holds only
# a borrowed reference to sys.stdout (a freed stream there crashes the interpreter).
_ROUTED: dict[int, tuple[Any, _RoutedStream]] = {}


def _routed(stream: Any) -> Any:
    if type(stream) is _RoutedStream:  # not isinstance: an ABC check per invocation costs
        return stream  # already routed (a nested invocation): it follows the innermost log
    entry = _ROUTED.get(id(stream))
    if entry is None or entry[0] is not stream:
        entry = _ROUTED[id(stream)] = (stream, _RoutedStream(stream))
    return entry[1]


# The streams route_output last routed, and their stand-ins: (stdout, stderr, routed stdout,
# routed stderr). Most invocations find the same two streams as the last one did: no lookups.
_last_routed: tuple[Any, Any, Any, Any] = (object(), object(), None, None)  # matches no stream


def route_output(log: InvocationLog, request_id: str) -> tuple[Any, Any, str]:
    """Route output to `log` from now on (handler code starts); returns what `restore_output`
    puts back. Re-entrant."""
    global _last_routed
    out, err = sys.stdout, sys.stderr
    saved = (out, err, _HANDLER.request_id)
    last = _last_routed  # one tuple, replaced whole: never half of one time and half of another
    if out is not last[0] or err is not last[1]:
        last = _last_routed = (out, err, _routed(out), _routed(err))
    sys.stdout, sys.stderr = last[2], last[3]
    _HANDLER.request_id = request_id
    _current.append((log, threading.get_ident()))
    return saved


def restore_output(saved: tuple[Any, Any, str]) -> None:
    _current.pop()
    sys.stdout, sys.stderr, _HANDLER.request_id = saved


class _SuppressServices(logging.Filter):
    """Powertools' deduplication filter, on the runtime's handler: records of a Powertools
    `Logger`'s service do not reach the root logger's handler a second time."""

    def __init__(self) -> None:
        super().__init__()
        self.services: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        return not any(service in name for service in self.services)


_SUPPRESS = _SuppressServices()
_HANDLER.addFilter(_SUPPRESS)


class _HandlersMadeOutside:
    """Logging handlers made before the simulation ran (a handler callable's module imported by
    the test module) that write to the process's stdout or stderr.

    On Lambda the runtime is there before any user code: a handler made at import writes to the
    one stdout of the process, and Powertools' `Logger` puts its deduplication filter on the
    runtime's root handler. While the simulation runs, such handlers write through the routed
    stream (their lines follow the running invocation, as for handler strings) and Powertools'
    services are filtered from the runtime's handler. Rescanned only when handlers or the
    standard streams changed: this runs at every entry into the simulation.
    """

    def __init__(self) -> None:
        self._count = -1
        self._last: Any = None
        self._out: Any = None
        self._err: Any = None
        self._stdio: list[Any] = []
        self.handlers: list[logging.StreamHandler[Any]] = []

    def refresh(self) -> None:
        refs = _HANDLER_REFS
        count = len(refs)
        last = refs[-1] if count else None
        out, err = sys.stdout, sys.stderr
        if count == self._count and last is self._last and out is self._out and err is self._err:
            return
        self._count, self._last, self._out, self._err = count, last, out, err
        stdio = (out, err, sys.__stdout__, sys.__stderr__)
        for stream in stdio:
            if stream is not None and type(stream) is not _RoutedStream and all(
                    stream is not known for known in self._stdio):
                self._stdio.append(stream)
        handlers = []
        for ref in list(refs):
            handler = ref()
            # Only a stream the handler keeps: logging's last resort reads sys.stderr each time.
            if (isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler)
                    and "stream" in handler.__dict__
                    and any(handler.stream is known for known in self._stdio)):
                handlers.append(handler)
        self.handlers = handlers
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if getattr(logger, "powertools_handler", None) is not None:
                _SUPPRESS.services.add(name)


# logging's list of weak references to every handler made (one list for the process).
_HANDLER_REFS: list[Any] = logging._handlerList  # type: ignore[attr-defined]
_OUTSIDE = _HandlersMadeOutside()
_ROOT = logging.getLogger()


class lambda_log_handler:
    """The runtime's handler on the root logger while the simulation runs (re-entrant)."""

    depth = 0
    _rerouted: list[tuple[logging.StreamHandler[Any], Any]] = []

    def __enter__(self) -> None:
        if lambda_log_handler.depth == 0:
            # As Logger.addHandler, without its lock: a list append is atomic, and this runs
            # at every entry into the simulation.
            handlers = _ROOT.handlers
            if _HANDLER not in handlers:
                handlers.append(_HANDLER)
            _OUTSIDE.refresh()
            if _OUTSIDE.handlers:
                rerouted = lambda_log_handler._rerouted = []
                for handler in _OUTSIDE.handlers:
                    rerouted.append((handler, handler.stream))
                    handler.stream = _routed(handler.stream)
        lambda_log_handler.depth += 1

    def __exit__(self, *exc: object) -> None:
        lambda_log_handler.depth -= 1
        if lambda_log_handler.depth == 0:
            handlers = _ROOT.handlers
            if _HANDLER in handlers:
                handlers.remove(_HANDLER)
            if lambda_log_handler._rerouted:
                for handler, stream in lambda_log_handler._rerouted:
                    handler.stream = stream
                lambda_log_handler._rerouted = []
