"""The ``marketsim`` command line.

    marketsim run SCENARIO [--seed N] [--steps N] [--set key=value ...] [--out DIR]
    marketsim validate SCENARIO [--set key=value ...]
    marketsim policies
    marketsim explore [--port N]     (the interactive explorer; needs the [viz] extra)
    marketsim --version

Exit codes: 0 success, 1 a run failed, 2 invalid input (every problem printed as
``FILE: dotted.path: message``), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .scenario import ScenarioError, estimate_memory, load_scenario

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: same exit code as bad scenarios
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario parameter, e.g. --set world.users=20000 (repeatable)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE", help=PLUGIN_HELP)


PLUGIN_HELP = ("import and run your Python module MODULE first (its code runs with your permissions), e.g. to "
               "register your own policies; a module name such as mypolicies (mypolicies.py in the current "
               "folder) or package.module (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="marketsim", description="Agent-based simulation of illicit drug markets.")
    parser.add_argument("--version", action="version", version=f"marketsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="run one scenario and write timeseries.parquet (+ .csv), summary.json, scenario.toml")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's 'seed')")
    p.add_argument("--steps", type=int, help="weeks to simulate (default: world.steps)")
    p.add_argument("--out", help="output folder (default: out/<scenario name>-seed<N>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier marketsim output in --out (deletes only files marketsim wrote there)")
    _common(p)

    p = sub.add_parser("validate", help="check a scenario file; exit 2 listing every problem")
    p.add_argument("scenario")
    _common(p)

    p = sub.add_parser("policies", help="list the registered enforcement policies")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE", help=PLUGIN_HELP)

    p = sub.add_parser("explore", help="serve the interactive explorer (SolaraViz) on http://127.0.0.1:PORT")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.set_defaults(handler=cmd_explore)

    _add_extra_commands(sub)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def cmd_explore(args) -> int:
    """Run ``solara run marketsim.app`` (production mode, no browser opened, no telemetry)."""
    import os
    import subprocess

    if importlib.util.find_spec("solara") is None:
        raise ScenarioError(["explore: the explorer needs the viz extra: pip install -e '.[viz]'"])
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    print(f"marketsim explorer: http://{args.host}:{args.port}  (Ctrl-C stops it)", flush=True)
    cmd = [sys.executable, "-m", "solara", "run", "marketsim.app", "--host", args.host,
           "--port", str(args.port), "--production", "--no-open"]
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def _add_extra_commands(sub) -> None:
    """Commands defined in other modules (compare, ...), when present."""
    for modname in ("marketsim.experiments.compare", "marketsim.experiments.sweep",
                    "marketsim.experiments.patterns_run"):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        if hasattr(mod, "add_cli"):
            mod.add_cli(sub, _common)


def _plugin_name_problem(name: str) -> str | None:
    if not name.strip():
        return "empty module name"
    if name.endswith(".py"):
        return f"a module name, not a file name: write --plugin {Path(name).stem} (run from the folder that holds it)"
    if not all(part.isidentifier() for part in name.split(".")):
        hint = ""
        if "/" in name or "\\" in name:
            hint = " (a module name, not a path: run from the folder that holds the module)"
        return f"not a module name such as mypolicies or package.module{hint}"
    return None


def _load_plugins(names) -> None:
    """Import each ``--plugin`` module (running its code), with the current folder on the import
    path so that ``--plugin mypolicies`` finds ``./mypolicies.py``."""
    problems = [f"--plugin: {name!r}: {p}" for name in names or [] if (p := _plugin_name_problem(name))]
    if problems:
        raise ScenarioError(problems)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:  # last: a local file never shadows an installed module
        sys.path.append(cwd)
    for name in names or []:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ScenarioError([f"--plugin: {name}: cannot import ({exc})"]) from None
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # the plugin's own code failed: say where, in one line
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
            raise ScenarioError([f"--plugin: {name}: failed while importing{where}: {type(exc).__name__}: {exc}"]) from None


def _overrides(args) -> list[str]:
    out = list(args.overrides)
    if getattr(args, "seed", None) is not None:
        out.append(f"seed={args.seed}")
    if getattr(args, "steps", None) is not None:
        out.append(f"world.steps={args.steps}")
    return out


def cmd_run(args) -> int:
    from .metrics import HEADLINE
    from .outdir import claim, safe_name
    from .runner import run_scenario, write_run

    sc = load_scenario(args.scenario, _overrides(args))
    out = args.out if args.out is not None else Path("out") / f"{safe_name(sc.name)}-seed{sc.seed}"
    plan = hashlib.sha256(json.dumps([sc.model_dump(mode="json"), args.plugin], sort_keys=True).encode()).hexdigest()
    command = shlex.join(["marketsim", *args.argv])
    output = claim(out, "run", command, plan, inputs=[args.scenario], overwrite=args.overwrite, cmd="run")
    try:
        res = run_scenario(sc, seed=sc.seed, progress=not args.quiet and sys.stderr.isatty())
        write_run(output.path, res)
    except BaseException:
        output.remove_if_unused()
        raise
    output.replace_files(["timeseries.parquet", "summary.json", "scenario.toml"])
    if not args.quiet:
        print(f"{sc.name}: policy={sc.enforcement.policy} seed={sc.seed} weeks={sc.world.steps}")
        for k in HEADLINE:
            v = res.summary.get(k)
            print(f"  {k:<26} {v:>14,.3f}" if isinstance(v, float) else f"  {k:<26} {v}")
        print(f"wrote {out}/timeseries.parquet (+ .csv), summary.json, scenario.toml")
    return 0


def cmd_validate(args) -> int:
    sc = load_scenario(args.scenario, _overrides(args))
    print(f"{args.scenario}: valid (policy={sc.enforcement.policy}, {sc.world.users} users, "
          f"{sc.world.width}x{sc.world.height} cells, {sc.world.steps} weeks, "
          f"about {estimate_memory(sc) / 2**30:.1f} GiB of memory per run)")
    return 0


def cmd_policies(args) -> int:
    from .policies import describe

    for name, summary in describe():
        print(f"{name:<26} {summary}")
    return 0


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that cleanup code runs as for Ctrl-C."""


#: seconds after Ctrl-C / SIGTERM within which the command must have stopped; past them (a
#: library swallowed the exception) the process exits anyway with the same code and message
GRACE_S = 20.0


def _stop_message(signum: int, prog: str = "marketsim") -> str:
    what = "interrupted (Ctrl-C)" if signum == signal.SIGINT else "terminated (SIGTERM)"
    return f"{prog}: {what}; nothing more was written"


def _hard_exit(signum: int) -> None:  # pragma: no cover - only when a library swallowed the exception
    print(_stop_message(signum), file=sys.stderr, flush=True)
    os._exit(128 + signum)


@contextlib.contextmanager
def _signals_raise():
    """While the command runs, SIGTERM raises :class:`Terminated` (the default would kill the
    process without running any ``finally``: temporary folders would stay) and Ctrl-C raises
    ``KeyboardInterrupt`` as usual; either starts a :data:`GRACE_S` watchdog. A SIGINT that the
    caller ignores (a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    timers: list[threading.Timer] = []

    def _raise(signum, frame):
        if not timers:
            t = threading.Timer(GRACE_S, _hard_exit, (signum,))
            t.daemon = True
            t.start()
            timers.append(t)
        raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _raise)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for t in timers:
            t.cancel()


def main(argv=None) -> int:
    prog = "marketsim"
    args = None
    try:
        with _signals_raise():
            parser = build_parser()
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:  # --help, or a bad flag (exit 2): return the code to Python callers too
                return int(exc.code or 0)
            from .experiments.store import StoreError
            from .organizations import PoolFull

            args.argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
            prog = f"marketsim {args.command}"
            try:
                _load_plugins(getattr(args, "plugin", []))
                handler = getattr(args, "handler", None) or {"run": cmd_run, "validate": cmd_validate,
                                                             "policies": cmd_policies}[args.command]
                return handler(args)
            except ScenarioError as err:
                for line in err.problems:
                    print(line, file=sys.stderr)
                return EXIT_BAD_INPUT
            except StoreError as err:
                print(f"{prog}: {err}", file=sys.stderr)
                return EXIT_BAD_INPUT
            except PoolFull as err:  # the market outgrew the agent pools the scenario sized: a failed run
                print(f"{prog}: {err}; nothing was written", file=sys.stderr)
                return 1
    except (KeyboardInterrupt, Terminated) as exc:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        if args is not None and getattr(args, "resumable", False):
            print(f"{prog}: interrupted; every finished run is kept in {args.out}/store: "
                  "resume with the same command", file=sys.stderr)
        else:
            print(_stop_message(signum, prog), file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    raise SystemExit(main())
