"""Files in a folder, reached without following links at or below it.

On POSIX each folder is opened with ``O_NOFOLLOW`` and entries are addressed
relative to its descriptor, so a link put in place of a folder or a file,
even after a check, is never followed: opening it fails with ``ELOOP`` or
``ENOTDIR`` (``NOT_PLAIN``). Elsewhere the same calls take full paths and
links are checked before use.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_OPEN_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
_OPEN_READ = os.O_RDONLY | _NOFOLLOW | _BINARY | getattr(os, "O_NONBLOCK", 0)
_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
#: Folders are opened and entries addressed by descriptor (POSIX), so that a
#: link swapped in after a check is never followed either.
_BY_DESCRIPTOR = (
    {os.open, os.mkdir, os.unlink, os.rename, os.rmdir, os.utime} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
    and os.utime in os.supports_follow_symlinks
)
#: Errors that mean the entry is a link, or not a folder where one should be.
NOT_PLAIN = {errno.ELOOP, errno.ENOTDIR, errno.EMLINK}


@dataclass(frozen=True)
class Folder:
    """A folder opened without following links; ``name`` addresses its entries."""

    path: str
    fd: int | None  # None where the platform has no descriptor-relative calls

    def name(self, entry: str) -> str:
        """How calls given ``dir_fd=self.fd`` name ``entry``."""
        return entry if self.fd is not None else os.path.join(self.path, entry)

    def entries(self) -> list[os.DirEntry[str]]:
        """What the folder holds (entries are never followed: use ``follow_symlinks=False``)."""
        with os.scandir(self.fd if self.fd is not None else self.path) as it:
            return list(it)


@contextlib.contextmanager
def open_folder(base: Path, names: tuple[str, ...] = (), create: bool = False) -> Iterator[Folder]:
    """``base/names...`` with no link followed at ``base`` or below (links above are)."""
    path = os.path.join(base, *names)
    if not _BY_DESCRIPTOR:
        for depth in range(len(names) + 1):
            part = os.path.join(base, *names[:depth])
            if create and depth:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part)
            if os.path.islink(part) or not os.path.isdir(part):
                raise OSError(errno.ELOOP, "not a plain folder", part)
        yield Folder(path, None)
        return
    fd = os.open(base, _OPEN_DIR)
    try:
        for name in names:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, dir_fd=fd)
            sub = os.open(name, _OPEN_DIR, dir_fd=fd)
            os.close(fd)
            fd = sub
        yield Folder(path, fd)
    finally:
        os.close(fd)


def read_file(folder: Folder, name: str) -> bytes:
    """The bytes of a regular file (not a link, a pipe or a device); b"" for anything else."""
    fd = os.open(folder.name(name), _OPEN_READ, dir_fd=folder.fd)
    with open(fd, "rb") as f:
        return f.read() if stat.S_ISREG(os.fstat(fd).st_mode) else b""


def write_file(folder: Folder, name: str, blob: bytes, tmp_suffix: str) -> None:
    """Write ``blob`` to a new temporary file (named ``*tmp_suffix``) and rename it to ``name``."""
    tmp = f"{name}.{secrets.token_hex(6)}{tmp_suffix}"
    fd = os.open(folder.name(tmp), _OPEN_NEW, 0o600, dir_fd=folder.fd)
    try:
        with open(fd, "wb") as f:
            f.write(blob)
        os.replace(folder.name(tmp), folder.name(name), src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(folder.name(tmp), dir_fd=folder.fd)
        raise


def unlink(folder: Folder, name: str) -> None:
    """Delete the entry ``name`` (a link itself, never its target), if it can be."""
    with contextlib.suppress(OSError):  # gone meanwhile, or not ours to delete
        os.unlink(folder.name(name), dir_fd=folder.fd)


def touch(folder: Folder, name: str) -> None:
    """Set the modification time of ``name`` to now, if it can be (not through a link)."""
    with contextlib.suppress(OSError):
        os.utime(folder.name(name), dir_fd=folder.fd, follow_symlinks=folder.fd is None)
