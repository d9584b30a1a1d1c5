"""A resumable run store: every finished run on disk at once, nothing lost to a crash.

Layout of a store folder (``DIR/store`` of a ``compare`` or ``sweep`` output)::

    manifest.json            the planned runs: kind, plan hash, points, replicates, seeds
    runs/<run_id>.parquet    one row per finished run: ids, parameters, seed, scenario hash,
                             status ("ok" or "failed"), error, every run-level metric
    timeseries/<run_id>.parquet   every week of that run (finished runs only)
    districts/<run_id>.parquet    every week and district of that run, where the experiment keeps them
    organizations/<run_id>.parquet  every week and organisation of that run, where the experiment keeps them
    maps/<run_id>.npz        spatial snapshots, where the experiment keeps them
    failed/<run_id>.txt      error and traceback of a run that raised
    .lock                    flock'ed by the process writing the store

Every file is written atomically (a temporary name in the same folder, then a rename) by the
process that finished the run, one file per run and kind: many shard processes on a shared
file system can fill the same store, and nobody appends to a shared file. A run counts as
finished when its ``runs/`` part exists; a re-run of the same plan computes only the others
(runs recorded as failed are tried again). The tables are always assembled from the parts in
plan order, so an interrupted and resumed experiment gives the same bytes as one that was not.

Locking: a full run (or ``--collect``) holds an exclusive lock; a shard holds the store's lock
shared plus an exclusive lock of its own slice, so shards run side by side but not beside a
full run, and no slice runs twice at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import traceback as _tb
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_bytes, atomic_write_json, atomic_write_parquet

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking
    fcntl = None

FORMAT = 1


class StoreError(Exception):
    """The store cannot be used as asked (another writer, another plan, missing runs): a clear message."""


def sha256_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    point: int
    replicate: int


def run_id(point: int, replicate: int) -> str:
    return f"p{point:06d}-r{replicate:04d}"


def plan_runs(n_points: int, replicates: int) -> list[PlannedRun]:
    """Every (point, replicate), replicate-major: a partial experiment covers every point."""
    return [PlannedRun(run_id(p, r), p, r) for r in range(replicates) for p in range(n_points)]


def shard_slice(runs: list[PlannedRun], index: int, count: int) -> list[PlannedRun]:
    """Slice ``index`` (0-based) of ``count``: every ``count``-th run, so slices are balanced."""
    return runs[index::count]


class RunStore:
    """The store folder ``root``; :meth:`open` it with a manifest before writing."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._lock_fds: list[int] = []

    # ------------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return None

    @staticmethod
    def make_manifest(kind: str, plan: dict, n_points: int, replicates: int) -> dict:
        """``plan``: everything that determines the runs' results (resolved scenarios' hashes, seeds,
        steps, map weeks, ...), JSON-able. Its hash tells a resumed experiment from another one."""
        return {"format": FORMAT, "kind": kind, "plan_sha256": sha256_json(plan), "points": int(n_points),
                "replicates": int(replicates), "runs": int(n_points) * int(replicates), "plan": plan}

    def check_or_write_manifest(self, manifest: dict) -> bool:
        """Write the manifest, or check that the one there plans the same runs. True when resuming."""
        old = self.manifest()
        if old is None:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.manifest_path, manifest)
            return False
        if old.get("plan_sha256") != manifest["plan_sha256"] or old.get("kind") != manifest["kind"]:
            raise StoreError(f"{self.root.parent}: holds the runs of a different {old.get('kind', 'experiment')} "
                             f"({old.get('runs', '?')} planned runs, plan {str(old.get('plan_sha256'))[:12]}); "
                             "use another --out, or --overwrite to replace it")
        return True

    # ------------------------------------------------------------------ locking
    def _flock(self, name: str, exclusive: bool, what: str) -> None:
        if fcntl is None:  # pragma: no cover
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / name, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.root.parent}: another marketsim process is writing this output folder "
                             f"({what}); wait for it to finish, or use another --out") from None
        self._lock_fds.append(fd)

    @contextlib.contextmanager
    def locked(self, shard: tuple[int, int] | None = None):
        """Hold the store for a full run (exclusive) or for one shard (shared + the slice's own lock)."""
        try:
            if shard is None:
                self._flock(".lock", True, "a run, a shard or --collect")
            else:
                self._flock(".lock", False, "a full run or --collect")
                self._flock(f".lock-shard-{shard[0]}-of-{shard[1]}", True, f"shard {shard[0]}/{shard[1]}")
            yield self
        finally:
            while self._lock_fds:
                os.close(self._lock_fds.pop())

    # ------------------------------------------------------------------ parts
    def _part(self, sub: str, rid: str, ext: str = "parquet") -> Path:
        return self.root / sub / f"{rid}.{ext}"

    def status(self) -> dict[str, str]:
        """run_id -> "ok" | "failed" for every run with a part."""
        out = {}
        d = self.root / "runs"
        if not d.is_dir():
            return out
        for p in d.glob("*.parquet"):
            rid = p.stem
            out[rid] = "failed" if (self.root / "failed" / f"{rid}.txt").exists() else "ok"
        return out

    def finished(self) -> set[str]:
        """Runs that need no recomputation (finished without error)."""
        return {rid for rid, st in self.status().items() if st == "ok"}

    def write_ok(self, rid: str, row: dict, timeseries: pd.DataFrame | None = None, maps: dict | None = None,
                 districts: pd.DataFrame | None = None) -> None:
        """Record a finished run: its timeseries, districts and maps first, its run row last (the row marks it done)."""
        if timeseries is not None:
            atomic_write_parquet(self._part("timeseries", rid), timeseries)
        if districts is not None:
            self.write_districts(rid, districts)
        if maps:
            buf = io.BytesIO()
            np.savez_compressed(buf, **{k: np.asarray(v) for k, v in maps.items()})
            atomic_write_bytes(self._part("maps", rid, "npz"), buf.getvalue())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._part("failed", rid, "txt"))
        atomic_write_parquet(self._part("runs", rid), pd.DataFrame([{**row, "status": "ok", "error": ""}]))

    def write_districts(self, rid: str, districts: pd.DataFrame) -> None:
        """The per-district part of a run (``RunResult.districts``); write it before the run row."""
        atomic_write_parquet(self._part("districts", rid), districts)

    def districts(self, rid: str) -> pd.DataFrame | None:
        """The per-district part of run ``rid``, or None where the experiment did not keep it."""
        p = self._part("districts", rid)
        return pd.read_parquet(p) if p.exists() else None

    def write_organizations(self, rid: str, organizations: pd.DataFrame) -> None:
        """The per-organisation part of a run (``DrugMarketModel.organizations_table()``); write it
        before the run row."""
        atomic_write_parquet(self._part("organizations", rid), organizations)

    def organizations(self, rid: str) -> pd.DataFrame | None:
        """The per-organisation part of run ``rid``, or None where the experiment did not keep it."""
        p = self._part("organizations", rid)
        return pd.read_parquet(p) if p.exists() else None

    def write_failed(self, rid: str, row: dict, exc: BaseException | str, tb: str | None = None) -> None:
        """Record a run that raised: its error in the run row, the traceback beside it."""
        if isinstance(exc, BaseException):
            msg = f"{type(exc).__name__}: {exc}"
            tb = tb or "".join(_tb.format_exception(type(exc), exc, exc.__traceback__))
        else:
            msg = str(exc)
        atomic_write_bytes(self._part("failed", rid, "txt"), f"{msg}\n\n{tb or ''}".encode())
        atomic_write_parquet(self._part("runs", rid), pd.DataFrame([{**row, "status": "failed", "error": msg}]))

    def traceback(self, rid: str) -> str:
        return self._part("failed", rid, "txt").read_text()

    # ------------------------------------------------------------------ tables
    def runs_table(self, order: list[str]) -> pd.DataFrame:
        """Run rows in ``order`` (run ids); runs without a part are left out."""
        frames = [pd.read_parquet(p) for rid in order if (p := self._part("runs", rid)).exists()]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def timeseries_table(self, order: list[str]) -> pd.DataFrame:
        frames = [pd.read_parquet(p) for rid in order if (p := self._part("timeseries", rid)).exists()]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def maps(self, rid: str) -> dict | None:
        p = self._part("maps", rid, "npz")
        if not p.exists():
            return None
        with np.load(p) as z:
            out = {k: z[k] for k in z.files}
        for k in ("width", "height"):
            if k in out:
                out[k] = int(out[k])
        for k in ("steps",):
            if k in out:
                out[k] = [int(x) for x in out[k]]
        if "windows" in out:
            out["windows"] = [tuple(int(v) for v in w) for w in out["windows"]]
        return out
