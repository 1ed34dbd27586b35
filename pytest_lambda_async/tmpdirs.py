"""The `/tmp` directories of execution environments.

Every environment gets a directory of its own (`TMPDIR`, `tempfile.gettempdir()`), made with
`mkdtemp`'s guarantees: unique, owned by this user, mode 0o700, empty. When the environment
is gone its path goes too. Removing a directory is not free: on an ext4 disk mounted with
`discard` one `rmdir` took 2-4 ms here, more than all the rest of a test that invokes once.
So a `TmpDirs` that keeps directories (the plugin's, one per session root) renames the empty
directory of a gone environment to a name of its own in the root, and hands it to the next
cold start, renamed for it, after checking that it is still what `mkdtemp` would make: a
directory, not a link, owned by this user, mode 0o700 and empty. Anything else is removed,
as before, and a new one made. What the plugin keeps is removed with the session's root.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
import tempfile


class TmpDirs:
    """Makes environments' `/tmp` directories in `root` (None: tempfile's directory) and
    removes them, or, with `keep`, keeps the empty ones for the next environment."""

    __slots__ = ("_free", "_uid", "keep", "root")

    def __init__(self, root: str | None = None, *, keep: bool = False) -> None:
        self.root = root
        self.keep = keep
        # Empty directories of gone environments, the last given back first.
        self._free: list[str] = []
        self._uid = os.geteuid() if hasattr(os, "geteuid") else None

    def make(self, prefix: str) -> str:
        """A new directory for an environment, its name starting with `prefix`."""
        free = self._free
        while free:
            path = self._reuse(free.pop(), prefix)
            if path is not None:
                return path
        root = self.root if self.root is not None else tempfile.gettempdir()
        if os.path.isabs(root):
            # What mkdtemp does (a mkdir with mode 0o700 that fails if the name is taken, then
            # another name; its audit event), without its parameter checks and name generator.
            for _ in range(100):
                path = os.path.join(root, f"{prefix}{secrets.token_hex(4)}")
                sys.audit("tempfile.mkdtemp", path)
                try:
                    os.mkdir(path, 0o700)
                except FileExistsError:
                    continue
                return path
        return tempfile.mkdtemp(prefix=prefix, dir=self.root)

    def _reuse(self, kept: str, prefix: str) -> str | None:
        new = os.path.join(os.path.dirname(kept), f"{prefix}{secrets.token_hex(4)}")
        try:
            if os.path.lexists(new):
                raise FileExistsError(new)
            os.rename(kept, new)
        except OSError:
            remove_tmp(kept)
            return None
        try:
            # Checked again under its new name: what a left-behind thread may have done to it
            # (a file, a mode, a link) means it is removed, never handed on.
            st = os.lstat(new)
            if (stat.S_ISDIR(st.st_mode) and st.st_mode & 0o777 == 0o700
                    and (self._uid is None or st.st_uid == self._uid)):
                with os.scandir(new) as entries:
                    if next(entries, None) is None:
                        return new
        except OSError:
            pass
        remove_tmp(new)
        return None

    def release(self, path: str) -> None:
        """The environment that had `path` is gone: remove it, or, if it is empty and this keeps
        directories, rename it out of the way (its path is gone at once, as after a removal:
        code still holding it can no longer reach it) and keep it for the next environment."""
        if self.keep and self.root is not None and os.path.dirname(path) == self.root:
            try:
                with os.scandir(path) as entries:
                    empty = next(entries, None) is None
                if empty and not os.path.islink(path):
                    kept = os.path.join(self.root, f".kept-{secrets.token_hex(4)}")
                    if not os.path.lexists(kept):
                        os.rename(path, kept)
                        self._free.append(kept)
                        return
            except OSError:
                pass
        remove_tmp(path)

    def clear(self) -> None:
        """Remove the directories kept for reuse."""
        free, self._free = self._free, []
        for path in free:
            remove_tmp(path)


def remove_tmp(path: str) -> None:
    """Remove an environment's /tmp, whatever its code left there."""
    try:
        os.rmdir(path)  # most code leaves its /tmp empty: one call, not rmtree's walk
    except OSError:
        if os.path.islink(path):
            with contextlib.suppress(OSError):
                os.unlink(path)
        else:
            shutil.rmtree(path, ignore_errors=True)
