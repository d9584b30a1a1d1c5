"""Output folders marketsim owns, and only those.

marketsim writes into a folder only when it does not exist, is empty, or carries the marker file
``.marketsim-output`` (JSON: what made it, the command, a hash of what it plans to compute, and the
files it wrote). Anything else is refused before any work (exit 2 naming the folder). A marked
folder of the same experiment is resumed or rewritten; a different one needs ``--overwrite``,
which deletes only the files the marker lists and the run store, never a file marketsim did
not write. ``--out`` equal to or above the current folder, the home folder, a repository root or
an input file's folder is refused. Folders created for a command that fails before recording
anything are removed again, and stale temporary folders of killed writers are cleaned up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from pathlib import Path

from .io import atomic_write_json
from .scenario import ScenarioError

MARKER = ".marketsim-output"
STORE = "store"
#: temporary files and folders of :mod:`marketsim.io` (``.NAME.RANDOM.tmp``)
_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")


def safe_name(name: str) -> str:
    """A file-name component made from a scenario ``name``: no separators, no ``..``, no leading dot."""
    s = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))
    s = re.sub(r"\.{2,}", "_", s).lstrip(".")
    return s or "scenario"


def _git_root(p: Path) -> Path | None:
    for d in (p, *p.parents):
        if (d / ".git").exists():
            return d
    return None


def protected_folders(inputs=()) -> list[tuple[Path, str]]:
    """Folders an output folder must not be, nor contain: (folder, why)."""
    cwd = Path.cwd().resolve()
    out = [(cwd, "the current folder")]
    home = os.environ.get("HOME")
    if home:
        out.append((Path(home).expanduser().resolve(), "the home folder"))
    roots = {_git_root(cwd)}
    for f in inputs:
        try:
            folder = Path(f).expanduser().resolve().parent
        except (OSError, RuntimeError):  # pragma: no cover
            continue
        out.append((folder, f"the folder of input {f}"))
        roots.add(_git_root(folder))
    out += [(r, "a repository root") for r in roots if r is not None]
    out.append((Path(out[0][0].anchor), "the file-system root"))
    return out


def read_marker(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MARKER).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check(out, kind: str, plan_sha256: str, inputs=(), overwrite: bool = False, cmd: str = "marketsim") -> list[str]:
    """Problems with writing ``kind`` output into ``out`` (empty when it may be used)."""
    if out is None or str(out).strip() == "":
        return [f"{cmd}: --out: an empty folder name would mean the current folder; give a folder name"]
    path = Path(out).expanduser()
    try:
        res = path.resolve()
    except (OSError, RuntimeError) as exc:  # pragma: no cover
        return [f"{cmd}: --out: {out}: cannot resolve ({exc})"]
    for folder, why in protected_folders(inputs):
        if res == folder or res in folder.parents:
            rel = "is" if res == folder else "contains"
            return [f"{cmd}: --out: {out}: {rel} {why} ({folder}); marketsim writes only into its own folders, "
                    "give a new folder name"]
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            return [f"{cmd}: --out: {out}: exists and is not a folder"]
        marker = read_marker(path)
        if marker is None:
            if any(True for _ in path.iterdir()):
                return [f"{cmd}: --out: {out}: folder is not empty and was not made by marketsim (no {MARKER}); "
                        "nothing was touched: choose a new or empty folder"]
            return []
        same = marker.get("kind") == kind and marker.get("plan_sha256") == plan_sha256
        if not same and not overwrite:
            return [f"{cmd}: --out: {out}: holds another marketsim output ({marker.get('kind', '?')}: "
                    f"{marker.get('command', '?')}); nothing was touched: use --overwrite to replace it, or "
                    "another folder"]
    return []


class Output:
    """A claimed output folder (see :func:`claim`)."""

    def __init__(self, path: Path, kind: str, command: str, plan_sha256: str, created: list[Path]):
        self.path = path
        self.kind = kind
        self.command = command
        self.plan_sha256 = plan_sha256
        self.created = created

    @property
    def store(self) -> Path:
        return self.path / STORE

    def mark(self, files=()) -> None:
        """(Re)write the marker, listing the files (relative paths) marketsim wrote here."""
        old = read_marker(self.path) or {}
        listed = sorted(set(old.get("files", [])) | {str(f) for f in files})
        listed = [f for f in listed if (self.path / f).exists()]
        atomic_write_json(self.path / MARKER, {"tool": "marketsim", "kind": self.kind, "command": self.command,
                                               "plan_sha256": self.plan_sha256, "files": listed})

    def replace_files(self, written) -> None:
        """After a final write of ``written`` (relative paths): delete files an earlier run of
        marketsim wrote here that this one did not (old figures, renamed scenarios), then mark."""
        written = {str(w) for w in written}
        old = read_marker(self.path) or {}
        for f in old.get("files", []):
            if f not in written and ".." not in Path(f).parts and not Path(f).is_absolute():
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    (self.path / f).unlink()
        atomic_write_json(self.path / MARKER, {"tool": "marketsim", "kind": self.kind, "command": self.command,
                                               "plan_sha256": self.plan_sha256, "files": sorted(written)})

    def forget_created(self) -> None:
        self.created = []

    def remove_if_unused(self) -> None:
        """Undo the folders this command created, if nothing but the marker and empty store lies in them."""
        for d in reversed(self.created):
            with contextlib.suppress(OSError):
                if d == self.path:
                    _remove_bare(d)
                else:
                    d.rmdir()


def _remove_bare(d: Path) -> None:
    """Remove ``d`` when it holds only the marker and store bookkeeping (no run recorded)."""
    keep = []
    for p in d.rglob("*"):
        if p.is_file() and p.name != MARKER and not p.name.startswith(".lock") and p.name != "manifest.json":
            keep.append(p)
    if keep:
        return
    shutil.rmtree(d)


def _clean_stale_tmp(path: Path, max_age_s: float = 0.0) -> list[Path]:
    """Temporary files and folders of earlier, killed writers (``.NAME.RANDOM.tmp``) under ``path``
    and beside it (only the ones named after ``path``)."""
    gone = []
    now = time.time()
    cands = []
    if path.is_dir():
        cands += [p for p in path.rglob(".*.tmp") if _TMP.match(p.name)]
    if path.parent.is_dir():
        cands += [p for p in path.parent.glob(f".{path.name}.*.tmp") if _TMP.match(p.name)]
    for p in cands:
        try:
            if now - p.lstat().st_mtime < max_age_s:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            gone.append(p)
        except OSError:
            pass
    return gone


def claim(out, kind: str, command: str, plan_sha256: str, inputs=(), overwrite: bool = False,
          cmd: str = "marketsim", exclusive: bool = True) -> Output:
    """Check ``out`` (:class:`ScenarioError` listing the problem, nothing touched) and make it ours:
    create it (remembering the parents created), wipe what an earlier marketsim output wrote there
    when ``overwrite``, clean stale temporary files (``exclusive``: no other writer can be active),
    and write the marker."""
    problems = check(out, kind, plan_sha256, inputs, overwrite, cmd)
    if problems:
        raise ScenarioError(problems)
    path = Path(out).expanduser()
    created = []
    for d in reversed([path, *path.parents]):
        if not d.exists():
            created.append(d)
    path.mkdir(parents=True, exist_ok=True)
    marker = read_marker(path)
    if marker is not None and overwrite and (marker.get("kind") != kind or marker.get("plan_sha256") != plan_sha256):
        _wipe(path, marker)
    if exclusive:
        for p in _clean_stale_tmp(path):
            print(f"note: removed a stale temporary file of an interrupted write: {p}", file=__import__("sys").stderr)
    o = Output(path, kind, command, plan_sha256, created)
    if marker is None or overwrite or marker.get("command") != command:
        o.mark()
    return o


def _wipe(path: Path, marker: dict) -> None:
    """Delete what the marker says marketsim wrote, and the run store (only its own kinds of file)."""
    for f in marker.get("files", []):
        p = path / f
        if ".." in Path(f).parts or Path(f).is_absolute():
            continue
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            p.unlink()
    store = path / STORE
    if store.is_dir():
        for sub, pattern in (("runs", "*.parquet"), ("timeseries", "*.parquet"), ("maps", "*.npz"),
                             ("failed", "*.txt")):
            for p in (store / sub).glob(pattern):
                p.unlink()
        for name in ("manifest.json",):
            with contextlib.suppress(FileNotFoundError):
                (store / name).unlink()
    # empty folders left behind (figures/, scenarios/, store/...), deepest first
    for d in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            if not any(d.iterdir()):
                d.rmdir()
