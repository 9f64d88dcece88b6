"""Local files and folders: recursive, include globs, gitignore-style excludes, size limit."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import pathspec

from quarry.errors import SourceError
from quarry.ingest.sources.base import SourceItem, Unreadable
from quarry.types import RawDocument, freeze

__all__ = ["FileSource", "FolderSource"]

IGNORE_FILES = (".gitignore", ".quarryignore")
# Hidden files and folders (.git, .gitignore, .env …) are skipped, as ripgrep and most indexers do.
ALWAYS_EXCLUDED = (".*", "__pycache__/", "node_modules/")


class FileSource:
    """One local file."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        self.path = path.resolve()
        if not self.path.is_file():
            raise SourceError(f"{path} is not a file", source=str(path), hint="check the path")
        self.prefix = str(self.path)
        self.max_bytes = max_bytes

    def describe(self) -> str:
        return f"file {self.path}"

    def count(self) -> int:
        return 1

    def __iter__(self) -> Iterator[SourceItem]:
        yield read_file(self.path, self.path.parent, self.max_bytes)


class FolderSource:
    """Every file under ``root`` that matches ``include`` (globs, relative to root; empty means
    all) and is not excluded by ``exclude`` or by ``.gitignore``/``.quarryignore`` files found in
    the tree. Files are yielded in sorted order, read one at a time."""

    def __init__(self, root: Path, *, include: Sequence[str] = (), exclude: Sequence[str] = (), max_bytes: int) -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise SourceError(f"{root} is not a folder", source=str(root), hint="check the path")
        self.prefix = str(self.root) + os.sep
        self.include = pathspec.GitIgnoreSpec.from_lines(include) if include else None
        self.exclude = pathspec.GitIgnoreSpec.from_lines([*ALWAYS_EXCLUDED, *exclude])
        self.max_bytes = max_bytes

    def describe(self) -> str:
        return f"folder {self.root}"

    def count(self) -> int:
        """How many files this source will yield (walks the tree once)."""
        return sum(1 for _ in self.paths())

    def __iter__(self) -> Iterator[SourceItem]:
        for path in self.paths():
            yield read_file(path, self.root, self.max_bytes)

    def paths(self) -> Iterator[Path]:
        """The files this source will read, in order."""
        specs: dict[Path, list[_Ignore]] = {}
        for top, dirnames, filenames in os.walk(self.root):
            directory = Path(top)
            ignores = [*specs.get(directory.parent, []), *_ignore_files(directory)]
            specs[directory] = ignores
            dirnames[:] = sorted(d for d in dirnames if not self._excluded(directory / d, ignores, is_dir=True))
            for name in sorted(filenames):
                path = directory / name
                if self._excluded(path, ignores, is_dir=False):
                    continue
                if self.include is None or self.include.match_file(path.relative_to(self.root).as_posix()):
                    yield path

    def _excluded(self, path: Path, ignores: list[_Ignore], *, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        if self.exclude.match_file(path.relative_to(self.root).as_posix() + suffix):
            return True
        return any(spec.match_file(path.relative_to(base).as_posix() + suffix) for base, spec in ignores)


def read_file(path: Path, root: Path, max_bytes: int) -> SourceItem:
    """The file's bytes, or why it cannot be read: only regular files inside ``root`` (after following symlinks),
    read with a cap — a FIFO would block for ever, a link to /dev/zero would fill memory, a link out of the folder
    would read what the caller was not given."""
    uri = str(path)
    try:
        real = path.resolve(strict=True)
        if not real.is_relative_to(root.resolve()):
            return Unreadable(uri, f"a symlink to {real}, outside {root}; links may not leave the folder", "outside")
        mode = real.stat().st_mode
        if not stat.S_ISREG(mode):
            return Unreadable(uri, f"not a regular file ({_kind(mode)}); only regular files are read", "not-a-file")
        with real.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            size = max(real.stat().st_size, len(data))
            return Unreadable(uri, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit", "too-large")
    except OSError as exc:
        return Unreadable(uri, f"cannot read: {exc.strerror or exc}")
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.name
    return RawDocument(uri=uri, data=data, name=path.name, metadata=freeze({"path": rel}))


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a directory" if stat.S_ISDIR(mode) else "a special file"


_Ignore = tuple[Path, pathspec.GitIgnoreSpec]


def _ignore_files(directory: Path) -> list[_Ignore]:
    """The ignore files in ``directory``; their patterns are relative to it, as in git."""
    found: list[_Ignore] = []
    for name in IGNORE_FILES:
        file = directory / name
        if file.is_file():
            lines = file.read_text(errors="replace").splitlines()
            found.append((directory, pathspec.GitIgnoreSpec.from_lines(lines)))
    return found
