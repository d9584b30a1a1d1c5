"""Command-line pieces shared by ``compare`` and ``sweep``: output-folder and store flags, shards."""

from __future__ import annotations

import argparse
import sys


def shard_arg(text: str) -> tuple[int, int]:
    """``I/N`` -> ``(I, N)``: slice I (0-based, as ``$SLURM_ARRAY_TASK_ID`` with ``--array=0-(N-1)``) of N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N, e.g. 0/10 (got {text!r})") from None
    if n < 1 or not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"I/N needs N >= 1 and 0 <= I < N (got {text!r})")
    return i, n


def add_store_args(p) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier marketsim output in --out (deletes only files marketsim wrote there)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--shard", type=shard_arg, default=None, metavar="I/N",
                   help="run only slice I (0-based) of N of the planned runs into the store, no tables "
                        "(SLURM job arrays: --shard $SLURM_ARRAY_TASK_ID/N); then --collect")
    g.add_argument("--collect", action="store_true",
                   help="run nothing: build the tables, figures and report once every run is in the store")


def store_flags(args) -> list[str]:
    parts = []
    if getattr(args, "overwrite", False):
        parts.append("--overwrite")
    return parts


def report_shard(name: str, res) -> int:
    """One line about a finished shard; exit 1 when some of its runs failed."""
    print(f"marketsim {name}: shard: {res.runs} runs in this slice, {res.already} already in the store, "
          f"{res.done} computed, {res.failed} failed; when every shard is done: the same command with --collect "
          f"instead of --shard", file=sys.stderr)
    for line in res.failures[:20]:
        print(f"  failed: {line}", file=sys.stderr)
    return 1 if res.failed else 0


def report_failed(name: str, out, failed: list[str]) -> int:
    if not failed:
        return 0
    print(f"marketsim {name}: {len(failed)} run(s) failed (listed in {out}/report.md; errors and tracebacks in "
          f"{out}/store/failed/); the tables use the others. Rerun the same command to try the failed runs again.",
          file=sys.stderr)
    for line in failed[:20]:
        print(f"  failed: {line}", file=sys.stderr)
    return 1
