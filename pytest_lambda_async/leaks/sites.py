"""Where work was created: the first frame of user code above a call, shown as "path:line".

Frames are sorted by where their code lives (user code, the standard library, installed
libraries, the plugin itself), and the sort is cached per file name: it runs on every task
and timer created while a window is open.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sysconfig
from types import CodeType, FrameType
from typing import Any

# The plugin package (this module lives in its `leaks/` subpackage).
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STDLIB_DIRS = tuple(
    os.path.abspath(path) + os.sep
    for key in ("stdlib", "platstdlib")
    if (path := sysconfig.get_paths().get(key))
)
_USER, _STDLIB, _LIBRARY, _PLUGIN = 0, 1, 2, 3
# Plugin modules that handler code calls through (its event loops, patched time): frames in
# them are passed over like the standard library's, not taken as the plugin's own machinery.
_PASS_THROUGH = tuple(_PACKAGE_DIR + name for name in ("loop.py", "timepatch.py", "deadline.py",
                                                        "logs.py", "context.py"))
_origins: dict[str, int] = {}


def _origin(filename: str) -> int:
    kind = _origins.get(filename)
    if kind is None:
        path = os.path.abspath(filename)
        if filename.startswith("<") or path.startswith(_PASS_THROUGH):
            kind = _STDLIB
        elif path.startswith(_PACKAGE_DIR):
            kind = _PLUGIN
        elif f"{os.sep}site-packages{os.sep}" in path or f"{os.sep}dist-packages{os.sep}" in path:
            kind = _LIBRARY
        elif path.startswith(_STDLIB_DIRS):
            kind = _STDLIB
        else:
            kind = _USER
        _origins[filename] = kind
    return kind


_shown: dict[tuple[str, str], str] = {}


def _show_path(filename: str) -> str:
    """`filename` relative to the current directory when it is inside it."""
    key = (os.getcwd(), filename)
    shown = _shown.get(key)
    if shown is None:
        try:
            relative = os.path.relpath(filename)
        except ValueError:  # another drive (Windows)
            relative = ".."
        shown = _shown[key] = filename if relative.startswith("..") else relative
    return shown


class _Site:
    """Where work was created: the first user frame, and who made the call.

    Kept raw and turned into text only when a finding is made: most work that is recorded
    finishes in time and is never reported. A site found by walking the stack keeps the
    frame's code and last instruction, and its line number is worked out only when asked
    for (`frame.f_lineno` scans the code's line table: in a long function, that costs more
    than the rest of the walk).
    """

    __slots__ = ("_lineno", "by_library", "code", "filename", "frames", "lasti")

    def __init__(self, filename: str = "", lineno: int = 0, by_library: bool = False,
                 frames: tuple[tuple[str, int, str], ...] = (), code: CodeType | None = None,
                 lasti: int = -1) -> None:
        self.filename = filename
        self._lineno = lineno
        self.by_library = by_library
        self.frames = frames  # the creation stack, innermost first, when `stacks` is on
        self.code = code  # with `lasti`, instead of `lineno`
        self.lasti = lasti

    @property
    def lineno(self) -> int:
        if self.code is not None:
            self._lineno = _line_of(self.code, self.lasti)
            self.code = None
        return self._lineno

    @property
    def site(self) -> str:
        """The site as a finding shows it ("path/to/app.py:12"), or "" when unknown."""
        return f"{_show_path(self.filename)}:{self.lineno}" if self.filename else ""

    @property
    def stack(self) -> tuple[str, ...]:
        return tuple(f"{_show_path(filename)}:{lineno} in {name}" for filename, lineno, name in self.frames)


def _line_of(code: CodeType, lasti: int) -> int:
    """The line of the instruction at byte offset `lasti`: what `frame.f_lineno` says."""
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return code.co_firstlineno if line is None else line
    return code.co_firstlineno


_STACK_LIMIT = 12


def _site_from_frame(frame: FrameType | None, stacks: bool) -> _Site | None:
    """Walk out from `frame` to user code. None when the plugin itself made the call."""
    first: int | None = None  # the first frame's origin that is not the standard library's
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        origin = _origins.get(filename)
        if origin is None:
            origin = _origin(filename)
        if origin == _USER:
            return _Site(filename, 0, first == _LIBRARY, _stack_from(frame) if stacks else (),
                         code, frame.f_lasti)
        if origin == _PLUGIN:
            return None if first is None else _Site(by_library=True)
        if first is None and origin == _LIBRARY:
            first = origin
        frame = frame.f_back
    return _Site(by_library=first == _LIBRARY)


# Where a task's step or a loop callback begins: the frames above it are the loop's, not the
# calling code's.
_LOOP_CALLBACK = asyncio.events.Handle._run.__code__


def _stack_from(frame: FrameType | None) -> tuple[tuple[str, int, str], ...]:
    frames: list[tuple[str, int, str]] = []
    while frame is not None and len(frames) < _STACK_LIMIT:
        code = frame.f_code
        if code is _LOOP_CALLBACK or _origin(code.co_filename) == _PLUGIN:
            break
        frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(frames)


def _site_from_origin(origin: tuple[tuple[str, int, str], ...] | None, stacks: bool) -> _Site | None:
    """The site of a coroutine from its `cr_origin` (innermost frame first)."""
    if not origin:
        return None
    for index, (filename, lineno, _name) in enumerate(origin):
        kind = _origin(filename)
        if kind == _PLUGIN:
            return None
        if kind == _USER:
            frames = origin[index:] if stacks else ()
            return _Site(filename, lineno, False, tuple(f for f in frames if _origin(f[0]) != _PLUGIN))
    return None


def _code_of(obj: Any) -> CodeType | None:
    for candidate in (obj, getattr(obj, "func", None), getattr(obj, "__func__", None)):
        code = getattr(candidate, "__code__", None) or getattr(candidate, "cr_code", None)
        if isinstance(code, CodeType):
            return code
    return None


def _defined_at(obj: Any) -> str:
    code = _code_of(obj)
    return f"{_show_path(code.co_filename)}:{code.co_firstlineno}" if code is not None else ""


def _qualname(obj: Any) -> str:
    target = getattr(obj, "func", obj)  # functools.partial
    return str(getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target))


_FUTURES = (asyncio.Future, concurrent.futures.Future)


_INTERNAL_MODULES = ("asyncio.", "pytest_lambda_async.")
_internal_modules: dict[str, bool] = {}


def _is_internal_callback(callback: Any) -> bool:
    """asyncio's own callbacks (task wake-ups, future callbacks, sleep timers) and the plugin's.

    Decided from the callback alone, before any frame walk: this runs on every call_soon.
    """
    callback = getattr(callback, "func", callback)  # look through functools.partial
    owner = getattr(callback, "__self__", None)
    if owner is not None and isinstance(owner, _FUTURES):
        return True
    try:
        return _internal_modules[callback.__module__]
    except (KeyError, AttributeError, TypeError):  # a module not seen yet, or none at all
        pass
    module = getattr(callback, "__module__", None)
    if not isinstance(module, str):
        return False
    internal = _internal_modules[module] = module.startswith(_INTERNAL_MODULES)
    return internal
