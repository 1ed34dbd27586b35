"""Modules are imported with the real `datetime` classes, even while freezegun is running.

While freezegun runs, `datetime.datetime` and `datetime.date` are its `FakeDatetime` and
`FakeDate`. A module imported then binds the fakes for good: a class that subclasses `date`
gets freezegun's metaclass (`import pydantic.v1` fails with "metaclass conflict"), and a
registry keyed by the classes keeps the fakes after freezegun stops (a later test's pydantic
v2 model with a `date` field has no schema). The plugin runs freezegun for handler code, and
handler code imports: a handler string at init, lazy imports inside handlers.

`ImportGuard` is a `sys.meta_path` finder, installed while the plugin's time patches are on.
It finds nothing itself: for each module about to be imported it asks the finders after it,
and has the module executed with the real classes in `datetime`. When the outermost import
ends, freezegun's fakes go back in, and the names the new modules bound to the real classes
are pointed at the fakes, as freezegun's own `start()` does to modules imported before it (and
its `stop()` points them back): handler code in those modules reads simulated time.
"""

from __future__ import annotations

import contextlib
import datetime
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any


class ImportGuard:
    """The finder (see the module's docstring). `install()`/`uninstall()` are idempotent."""

    def __init__(self) -> None:
        self._local = threading.local()  # re-entrance while asking the other finders
        self._depth = 0
        self._lock = threading.Lock()
        self._saved: tuple[Any, Any] | None = None
        self._before: set[str] = set()
        self._executed: list[ModuleType] = []  # by the outermost import, under another name too

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        while self in sys.meta_path:
            sys.meta_path.remove(self)

    # -- the finder ----------------------------------------------------------------------------
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
                  ) -> ModuleSpec | None:
        local = self._local
        if getattr(local, "finding", False):
            return None
        local.finding = True
        try:
            spec = _find_with_the_others(self, fullname, path, target)
        finally:
            local.finding = False
        if spec is None:
            return None
        loader = spec.loader
        # A class as loader (built-in and frozen modules) runs no code that could bind the fakes.
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec
        try:
            if "exec_module" in vars(loader):
                return spec
        except TypeError:  # a loader without a __dict__
            return spec
        original = loader.exec_module
        guard = self

        def exec_module(module: ModuleType) -> None:
            # One use: the loader is itself again before the module's code runs.
            vars(loader).pop("exec_module", None)
            guard._enter(module)
            try:
                original(module)
            finally:
                guard._exit()

        with contextlib.suppress(AttributeError, TypeError):
            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec

    # -- real classes while modules execute ---------------------------------------------------------
    def _enter(self, module: ModuleType) -> None:
        with self._lock:
            self._depth += 1
            self._executed.append(module)
            if self._depth > 1:
                return
            api = sys.modules.get("freezegun.api")
            if api is None or datetime.date is not getattr(api, "FakeDate", None):
                return  # freezegun is not running: nothing to undo
            self._saved = (datetime.datetime, datetime.date)
            self._before = set(sys.modules)
            datetime.datetime = api.real_datetime  # type: ignore[misc]
            datetime.date = api.real_date  # type: ignore[misc]

    def _exit(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth:
                return
            executed, self._executed = self._executed, []
            if self._saved is None:
                return
            saved, self._saved = self._saved, None
            before, self._before = self._before, set()
            api = sys.modules["freezegun.api"]
            if datetime.date is not api.real_date:
                return  # freezegun was stopped meanwhile
            datetime.datetime, datetime.date = saved  # type: ignore[misc]
            # A handler module is executed outside sys.modules (each environment has its own).
            modules = {id(module): module for module in executed}
            for name in set(sys.modules) - before:
                module = sys.modules.get(name)
                if module is not None:
                    modules[id(module)] = module
            _point_at_fakes(api, list(modules.values()))


def _find_with_the_others(guard: ImportGuard, fullname: str, path: Sequence[str] | None,
                          target: ModuleType | None) -> ModuleSpec | None:
    """What the import system would find without `guard`."""
    for finder in list(sys.meta_path):
        if finder is guard:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            return None  # a legacy finder: let the import system go on as usual
        spec: ModuleSpec | None = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _point_at_fakes(api: Any, modules: list[ModuleType]) -> None:
    """Bind the new modules' names for the real classes to freezegun's fakes (freezegun's rules)."""
    fakes = {id(api.real_datetime): api.FakeDatetime, id(api.real_date): api.FakeDate}
    ignore = tuple(api.ignore_lists[-1]) if api.ignore_lists else ()
    for module in modules:
        name = getattr(module, "__name__", None)
        if not isinstance(name, str) or name in ("datetime", "time"):
            continue
        if name.startswith(ignore) or name.endswith(".six.moves"):
            continue
        try:
            items = list(vars(module).items())
        except TypeError:
            continue
        for attribute, value in items:
            fake = fakes.get(id(value))
            if fake is not None:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(module, attribute, fake)
