"""Atomic result files: write to a temporary name in the same folder, then rename.

A reader never sees a half-written file, and a failed run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> None:
    """Strict JSON (NaN written as null)."""
    atomic_write_text(path, json.dumps(_clean(obj), indent=2, sort_keys=True, default=_json_default,
                                       allow_nan=False) + "\n")


def _clean(o):
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float) and o != o:
        return None
    return o


def atomic_write_parquet(path: str | Path, df: pd.DataFrame) -> None:
    import io as _io

    buf = _io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    atomic_write_bytes(path, buf.getvalue())


def _json_default(o):
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@contextlib.contextmanager
def staged_dir(target: str | Path):
    """Yield a fresh temporary folder beside ``target``; on success its files replace
    those of ``target`` (created if needed), each by an atomic rename; on failure it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        target.mkdir(exist_ok=True)
        for root, _dirs, files in os.walk(tmp):
            rel = Path(root).relative_to(tmp)
            (target / rel).mkdir(parents=True, exist_ok=True)
            for f in files:
                os.replace(Path(root) / f, target / rel / f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
