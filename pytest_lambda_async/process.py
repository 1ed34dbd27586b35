"""The test's process state that handler code can change, taken before a test's first
invocation and handed back at its end.

On Lambda every execution environment is a process of its own: whatever handler or init code
does to the working directory, `sys.path`, `sys.modules`, signal handlers or the `logging`
tree stays in that environment. Here every environment runs in the test's process, so the
plugin takes what the test had and restores it when the test ends; the next test starts clean.
(`os.environ`, tempfile's directory and the asyncio policy are swapped per invocation by the
environment itself.)
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import logging
import operator
import os
import signal
import sys
import threading
from types import ModuleType
from typing import Any

from .clock import RealTime

# Handlers pytest's logging plugin puts on the root logger for each phase of a test (and
# takes off again): they are pytest's to manage, never restored or removed here.
_PYTEST_MODULE_PREFIX = "_pytest."


def _is_pytest_handler(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith(_PYTEST_MODULE_PREFIX)


# The attributes every logger starts with; libraries add their own (Powertools marks the
# loggers it has set up), and those go with the rest of the logger's state.
_LOGGER_ATTRIBUTES = frozenset(vars(logging.Logger("-")))


def _reset_new_logger(logger: logging.Logger) -> None:
    # Made while the test ran: back to how a new logger starts. Libraries' NullHandlers (added
    # when they are imported) stay, as they would after the first import.
    for name in [name for name in vars(logger) if name not in _LOGGER_ATTRIBUTES]:
        delattr(logger, name)
    logger.level = logging.NOTSET
    logger.disabled = False
    logger.propagate = True
    logger.filters[:] = []
    _set_handlers(logger, [h for h in logger.handlers if type(h) is logging.NullHandler])


def _set_handlers(logger: logging.Logger, own: list[logging.Handler]) -> None:
    current = logger.handlers
    kept = [h for h in current if _is_pytest_handler(h)]
    if current != own + kept:
        current[:] = own + kept


def _loggers() -> list[logging.Logger]:
    manager = logging.Logger.manager
    # A copy: a thread may create a logger while we walk.
    found = [v for v in list(manager.loggerDict.values()) if isinstance(v, logging.Logger)]
    return [logging.getLogger(), *found]


class LoggingState:
    """The logging tree: every logger's level, handlers, filters, `disabled`, `propagate` and
    whatever else is set on it, and `logging.disable`'s level.

    Each logger's state is a tuple (the logger, a copy of its attributes, of its handlers and
    of its filters), taken and put back inline: this runs for every logger twice per test."""

    def __init__(self) -> None:
        self.disable = logging.Logger.manager.disable
        self.loggers = {id(logger): (logger, logger.__dict__.copy(), list(logger.handlers),
                                     list(logger.filters)) for logger in _loggers()}

    def restore(self) -> None:
        manager = logging.Logger.manager
        manager.disable = self.disable
        saved = self.loggers
        for logger in _loggers():
            state = saved.get(id(logger))
            if state is None or state[0] is not logger:
                _reset_new_logger(logger)
                continue
            attributes = logger.__dict__
            handlers, filters = logger.handlers, logger.filters
            if attributes != state[1]:
                attributes.clear()
                attributes.update(state[1])
                logger.handlers, logger.filters = handlers, filters  # the same lists, refilled
            if filters != state[3]:
                filters[:] = state[3]
            if handlers or state[2]:
                _set_handlers(logger, [h for h in state[2] if not _is_pytest_handler(h)])
        # Levels are put back without setLevel, and code may have changed one and back
        # directly: every logger's cached answers go.
        manager._clear_cache()  # type: ignore[attr-defined]


# The signals a handler can be installed for, looked up once (the set does not change).
_SIGNALS = sorted(_signal.valid_signals()) if hasattr(_signal, "valid_signals") else []


class SignalState:
    """Every signal's Python-level handler, and the real-time alarm SIGALRM goes with (taken on
    the main thread only: elsewhere neither the test nor handler code can install one).

    Read through `_signal`, not `signal`: the module's wrappers turn every default handler
    into an enum, and this runs for every signal twice per test."""

    def __init__(self) -> None:
        self.handlers: dict[int, Any] = {}
        self.alarm_due = 0.0
        self.alarm_interval = 0.0
        if threading.current_thread() is threading.main_thread():
            if hasattr(signal, "setitimer"):
                remaining, self.alarm_interval = signal.getitimer(signal.ITIMER_REAL)
                self.alarm_due = RealTime.monotonic() + remaining if remaining else 0.0
            getsignal = _signal.getsignal
            for signum in _SIGNALS:
                try:
                    self.handlers[signum] = getsignal(signum)
                except (OSError, ValueError):  # pragma: no cover - platform-specific
                    continue

    def restore(self, keep: Any = None) -> None:
        """Put back every handler that changed, except where the current one is `keep` (the
        plugin's own real-time guard, which puts back what it displaced itself)."""
        if threading.current_thread() is not threading.main_thread():
            return
        getsignal = _signal.getsignal
        for signum, handler in self.handlers.items():
            current = getsignal(signum)
            # SIG_DFL and SIG_IGN come back as plain ints here, not as the signal module's enums.
            if current is handler or current == handler or handler is None or (
                    keep is not None and current is keep):
                continue
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError, TypeError):  # pragma: no cover - uncatchable signals
                continue
            if signum == getattr(signal, "SIGALRM", None):
                self._restore_alarm()

    def _restore_alarm(self) -> None:
        # Handler code took SIGALRM over: whatever alarm is pending now was set for its handler
        # (or for the plugin's guard it displaced), not for the one being put back.
        if self.alarm_due:
            remaining = max(self.alarm_due - RealTime.monotonic(), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, self.alarm_interval)
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)


class ProcessSnapshot:
    """cwd, `sys.path`, `sys.modules`, signal handlers and the logging tree, as the test had them.

    Modules that appeared while the test ran stay imported: the user's own are kept per
    environment (and so never reach `sys.modules`), libraries' are a cache as in any process.
    Modules the test had are put back if handler code removed or replaced them.
    """

    def __init__(self) -> None:
        self.cwd = os.getcwd()
        self.path_list = sys.path
        self.path = list(sys.path)
        self.modules: dict[str, ModuleType] = dict(sys.modules)
        self.signals = SignalState()
        self.logging = LoggingState()

    def restore(self, *, keep_signal_handler: Any = None) -> None:
        try:
            moved = os.getcwd() != self.cwd
        except OSError:  # handler code removed the directory it had moved to
            moved = True
        if moved:
            os.chdir(self.cwd)
        sys.path = self.path_list
        if sys.path != self.path:
            sys.path[:] = self.path
        modules = sys.modules
        # Checked by identity in one pass in C for the usual case, where every module the test
        # had is still there; walked one by one only when one was removed or replaced.
        saved = self.modules
        if not all(map(operator.is_, map(modules.get, saved), saved.values())):
            for name, module in saved.items():
                if modules.get(name) is not module:
                    modules[name] = module
        self.signals.restore(keep=keep_signal_handler)
        self.logging.restore()


class ChdirWatch:
    """Counts the calls of `os.chdir` and `os.fchdir` while installed, so that code can tell
    whether the working directory may have moved without a system call per invocation.

    (A `from os import chdir` taken before it was installed is not seen; the test's cwd is
    still put back at the end of the test.)"""

    def __init__(self) -> None:
        self.moves = 0
        self.depth = 0
        self.real_chdir = os.chdir
        self.real_fchdir = os.fchdir
        self._cwd: str | None = None
        self._cwd_moves = -1
        # Bound once: each attribute access would make a new bound method, never `is` the
        # one installed.
        self._chdir_wrapper = self._chdir
        self._fchdir_wrapper = self._fchdir

    def cwd(self) -> str | None:
        """The working directory (None if it was removed), looked up only after a move."""
        if self._cwd_moves != self.moves:
            try:
                self._cwd = os.getcwd()
            except OSError:
                self._cwd = None
            self._cwd_moves = self.moves
        return self._cwd

    def known(self, cwd: str | None) -> None:
        """The working directory is `cwd` now."""
        self._cwd, self._cwd_moves = cwd, self.moves

    def install(self) -> None:
        self.depth += 1
        if self.depth == 1:
            self.real_chdir, self.real_fchdir = os.chdir, os.fchdir
            os.chdir = self._chdir_wrapper
            os.fchdir = self._fchdir_wrapper
            self._cwd_moves = -1  # whatever happened while not installed went unseen

    def uninstall(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            if os.chdir is self._chdir_wrapper:
                os.chdir = self.real_chdir
            if os.fchdir is self._fchdir_wrapper:
                os.fchdir = self.real_fchdir
            self._cwd_moves = -1

    def _chdir(self, path: Any) -> None:
        self.moves += 1
        self.real_chdir(path)

    def _fchdir(self, fd: Any) -> None:
        self.moves += 1
        self.real_fchdir(fd)


chdir_watch = ChdirWatch()
