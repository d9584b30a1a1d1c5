"""Generator of malformed (and some well-formed) scenario inputs for tests/test_fuzz.py.

Every case is a scenario file (bytes) and extra command-line arguments for ``marketsim run``.
The expected outcome is never written down per case: a case must end in exit 0 with a finite,
conserved run, or in exit 2 whose message names ``case.names`` (the field, flag or file part
at fault). Fields are enumerated from the schema, so a new field is fuzzed without editing this.

    python tests/fuzz_cases.py      # run every case and print the class table (cases, exit 0, exit 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import tomli_w
from pydantic import BaseModel

from marketsim.scenario import Scenario, parse_scenario

#: a city small enough that a run of two weeks takes milliseconds
TINY = [
    "name=fuzz", "world.width=12", "world.height=12", "world.users=150", "world.dealers=6",
    "world.organizations=2", "world.hotspots=3", "world.district_size=6", "world.steps=2", "world.burn_in=0",
    "world.mesa_user_agents=false", "enforcement.officers=4", "supply.import_volume=300",
    "enforcement.interdiction_capacity=80",
]


@dataclass
class Case:
    cls: str  # the class of the case, for the table
    ident: str
    text: bytes | None  # scenario file content; None: the file is not written (a path is given in args)
    args: list[str] = field(default_factory=list)
    names: str = ""  # what an exit-2 message must mention (one of several, separated by |)
    steps_flag: bool = True  # add --steps 2 (not when world.steps itself is fuzzed)


def base_dict() -> dict:
    return parse_scenario({}, overrides=TINY).model_dump(mode="json")


def fields() -> list[tuple[str, type]]:
    """(dotted key, annotation) of every scalar field of the schema."""
    out = []
    for name, f in Scenario.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += [(f"{name}.{sub}", sf.annotation) for sub, sf in ann.model_fields.items()]
        else:
            out.append((name, ann))
    return out


def _toml(d: dict) -> bytes:
    return tomli_w.dumps(d).encode()


def _with(d: dict, dotted: str, value, delete: bool = False) -> dict:
    import copy

    d = copy.deepcopy(d)
    node = d
    keys = dotted.split(".")
    for k in keys[:-1]:
        node = node[k]
    if delete:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value
    return d


#: the value classes of the issue: (class, value for int/float fields, value for bool, value for str)
VALUE_CLASSES = [
    ("wrong type", [1, 2], [1], [1]),
    ("bool", True, None, True),
    ("numeric string", "3", "true", None),
    ("negative", -1, -1, -1),
    ("zero", 0, 0, 0),
    ("NaN", math.nan, math.nan, math.nan),
    ("+inf", math.inf, math.inf, math.inf),
    ("-inf", -math.inf, -math.inf, -math.inf),
    ("huge 1e12", 1e12, 1e12, 1e12),
    ("huge 1e300", 1e300, 1e300, 1e300),
    ("table", {"a": 1}, {"a": 1}, {"a": 1}),
]


def field_cases() -> list[Case]:
    base = base_dict()
    cases = []
    for key, ann in fields():
        steps_flag = key != "world.steps"
        cases.append(Case("field missing", f"{key}:missing", _toml(_with(base, key, None, delete=True)),
                          names=key, steps_flag=steps_flag))
        for cls, num, flag, text in VALUE_CLASSES:
            value = flag if ann is bool else text if ann is str else num
            if value is None:  # the class is a valid value of this type (a bool for a bool field)
                continue
            if ann is float and cls == "numeric string":
                value = "1.5"
            cases.append(Case(f"field {cls}", f"{key}:{cls}", _toml(_with(base, key, value)), names=key,
                              steps_flag=steps_flag))
        # at its bounds: the extremes that validation lets through must run (not 5,200 weeks of
        # world.steps or world.burn_in: 15 s of the budget; those bounds are about run time)
        if ann in (int, float):
            for cls, value in (("at upper bound", _bound(key, "le")), ("at lower bound", _bound(key, "ge"))):
                if value is not None and not (cls == "at upper bound" and key in ("world.steps", "world.burn_in")):
                    cases.append(Case(f"field {cls}", f"{key}:{cls}", _toml(_with(base, key, value)), names=key,
                                      steps_flag=steps_flag))
        # the field misspelt
        section, _, leaf = key.rpartition(".")
        bad = leaf[:-1] + ("x" if leaf[-1] != "x" else "y")
        d = _with(base, key, None, delete=True)
        d = _with(d, f"{section}.{bad}" if section else bad, _get(base, key))
        cases.append(Case("misspelt key", f"{key}:misspelt", _toml(d), names=f"{section}.{bad}" if section else bad))
    return cases


def _bound(dotted: str, kind: str):
    """The field's inclusive bound (``le``/``lt`` or ``ge``/``gt`` nudged inside), or None."""
    model = Scenario
    *path, leaf = dotted.split(".")
    for p in path:
        model = model.model_fields[p].annotation
    f = model.model_fields[leaf]
    for m in f.metadata:
        for attr, strict in ((kind, False), ({"le": "lt", "ge": "gt"}[kind], True)):
            v = getattr(m, attr, None)
            if v is None:
                continue
            if f.annotation is int:
                return int(v) + (0 if not strict else (-1 if kind == "le" else 1))
            if strict:
                return math.nextafter(float(v), -math.inf if kind == "le" else math.inf)
            return float(v)
    return None


def _get(d: dict, dotted: str):
    for k in dotted.split("."):
        d = d[k]
    return d


def structure_cases() -> list[Case]:
    base = base_dict()
    sections = [k for k, v in base.items() if isinstance(v, dict)]
    cases = []
    for s in sections:
        d = dict(base)
        d[s[:-1] + "z"] = d.pop(s)
        cases.append(Case("misspelt section", f"{s}:misspelt", _toml(d), names=s[:-1] + "z"))
        body = tomli_w.dumps({k: v for k, v in base.items() if k != s}).encode()
        for label, text in (("scalar", f"{s} = 5\n"), ("array of tables", f"[[{s}]]\nx = 1\n"),
                            ("list", f"{s} = [1, 2]\n"), ("string", f'{s} = "x"\n')):
            cases.append(Case("wrong structure", f"{s}:{label}", text.encode() + body, names=s))
            # the same with --set into that section (was KeyError: 'world')
            leaf = next(iter(base[s]))
            cases.append(Case("wrong structure", f"{s}:{label}+--set", text.encode() + body,
                              args=["--set", f"{s}.{leaf}={tomli_w.dumps({'v': base[s][leaf]})[4:].strip()}"],
                              names=s))
        nested = _with(base, f"{s}.{next(iter(base[s]))}", {"deeper": 1})
        cases.append(Case("wrong structure", f"{s}:nested table", _toml(nested), names=s))
    return cases


def toml_cases() -> list[Case]:
    good = _toml(base_dict())
    bad = [
        "[world\nusers = 1\n", "world.users = = 3\n", "[world]\nusers = 1\nusers = 2\n", "= 3\n",
        "[world]\nusers = 1_\n", "[world]\nusers = 0x\n", 'name = "unterminated\n', "name = 'a' 'b'\n",
        "[world]\n[world]\n", "a = {b = 1\n", "[[]]\n", "[world]\nusers = 1\n[world.users]\n",
        "name = \"x\"\u0000\n", "x = 1979-05-27T07:32:00Z extra\n", "\n\n\n   ]\n", "name = \"x\"\n[ world ]]\n",
        "key with spaces = 1\n", "[world]\nwidth = 12.\n", "[world]\nwidth = .5\n", "[world]\nwidth = +\n",
    ]
    cases = [Case("bad TOML", f"toml:{i}", t.encode(), names="(toml)") for i, t in enumerate(bad)]
    cases += [Case("bad TOML", "toml:truncated", good[: len(good) // 2] + b"[", names="(toml)")]
    return cases


def file_cases() -> list[Case]:
    import random

    r = random.Random(7)
    cases = [Case("binary / encoding", f"binary:{i}", bytes(r.randrange(256) for _ in range(64 + i)), names="(")
             for i in range(12)]
    cases += [
        Case("binary / encoding", "latin-1", 'name = "caf\u00e9"\n'.encode("latin-1"), names="(file)"),
        Case("binary / encoding", "utf-16", 'name = "x"\n'.encode("utf-16"), names="(file)"),
        Case("binary / encoding", "NUL bytes", b"\x00" * 100, names="(toml)"),
        Case("empty", "empty file", b"", names="(file)"),
        Case("empty", "comments only", b"# nothing\n# here\n", names="(file)"),
        Case("empty", "blank lines", b"\n\n   \n", names="(file)"),
        Case("empty", "empty sections", b"[world]\n[users]\n", names="name"),
    ]
    return cases


def flag_cases() -> list[Case]:
    good = _toml(base_dict())
    seeds = ["-1", "x", "1.5", "", "1e3", "nan", str(2**64), "0x10", "--"]
    steps = ["0", "-1", "x", "1e3", "", "2.5", "99999999", "5201", "nan"]
    sets = [
        ("world.users", "expected dotted.key=value"), ("=3", "unknown key"), ("world.users=", "world.users"),
        ("world.users=abc", "world.users"), ("world.users=[1]", "world.users"), ("world.users={a=1}", "world.users"),
        ('world.users="100"', "world.users"), ("world.users=true", "world.users"), ("world.users=nan", "world.users"),
        ("world.users=inf", "world.users"), ("world.users=1.5", "world.users"), ("world.userz=3", "world.userz"),
        ("world=3", "world"), ("world.users.x=3", "world.users.x"), (".=1", "unknown key"),
        ("world..users=1", "world..users"), ("enforcement.policy=", "enforcement.policy"),
        ("enforcement.policy=nuke", "enforcement.policy"), ('name="../../escape"', "name"), ("name=", "name"),
        ("seed=-1", "seed"), ("world.torus=1", "world.torus"), ("world.torus=yes", "world.torus"),
        ("world.burn_in=1e12", "world.burn_in"), ("users.demand_mean=1e300", "users.demand_mean"),
        ("world.users=1", "world.users"), ("world.users=2", "world.users"), ("world.users=1e12", "world.users"),
        ("world.users=1e9", "world.users"),
        ("organizations.ruthlessness_cv=30", "organizations.ruthlessness_cv"),
        ("market.exit_cash=nan", "market.exit_cash"), ("enforcement.officers=true", "enforcement.officers"),
        ("world.hotspots=1e12", "world.hotspots"), ("market.max_dealers_factor=1e12", "market.max_dealers_factor"),
        ("market.entry_rate=1e12", "market.entry_rate"), ("enforcement.officers=1e12", "enforcement.officers"),
        ("world.width=1e12", "world.width"), ("world.steps=0", "world.steps"),
    ]
    plugins = [("", "--plugin"), ("../../etc", "--plugin"), ("x.py", "--plugin"), (".", "--plugin"),
               ("a..b", "--plugin"), ("1abc", "--plugin"), ("/etc/passwd", "--plugin"),
               ("no_such_module_xyz", "--plugin"), ("marketsim", ""), ("marketsim.policies", "")]
    cases = [Case("bad --seed", f"--seed {s!r}", good, args=[f"--seed={s}"], names="seed") for s in seeds]
    cases += [Case("bad --steps", f"--steps {s!r}", good, args=[f"--steps={s}"], names="steps", steps_flag=False)
              for s in steps]
    cases += [Case("bad --set", f"--set {s!r}", good, args=["--set", s], names=n) for s, n in sets]
    cases += [Case("bad --plugin", f"--plugin {p!r}", good, args=[f"--plugin={p}"], names=n) for p, n in plugins]
    cases += [Case("bad scenario path", "missing file", None, args=["no/such/file.toml"], names="no such"),
              Case("bad scenario path", "a folder", None, args=["."], names="(file)"),
              Case("bad scenario path", "/dev/null", None, args=["/dev/null"], names="(file)")]
    return cases


def combination_cases(n: int = 120, seed: int = 0) -> list[Case]:
    """Six numbers at once, each at a bound or a log-uniform value between (the single-field
    cases cannot find crashes that need two extremes together, such as a tiny price and a
    large demand)."""
    import random

    r = random.Random(seed)
    base = base_dict()
    nums = [(k, a) for k, a in fields() if a in (int, float) and k not in ("world.steps", "world.burn_in")]
    cases = []
    for i in range(n):
        d = base
        keys = []
        for key, ann in r.sample(nums, 6):
            lo, hi = _bound(key, "ge"), _bound(key, "le")
            lo = -1e12 if lo is None else lo
            hi = 1e12 if hi is None else hi
            x = r.random()
            if x < 0.3:
                v = lo
            elif x < 0.6:
                v = hi
            elif lo > 0:
                v = min(max(math.exp(r.uniform(math.log(lo), math.log(hi))), lo), hi)
            else:
                v = min(max(r.choice([0, 1e-3, 1, 10, 1e3, 1e6]), lo), hi)
            d = _with(d, key, int(v) if ann is int else float(v))
            keys.append(key)
        cases.append(Case("random combination", f"combination {i}: {', '.join(keys)}", _toml(d), names="|".join(keys)))
    return cases


def all_cases() -> list[Case]:
    return field_cases() + structure_cases() + toml_cases() + file_cases() + flag_cases() + combination_cases()


if __name__ == "__main__":  # print the class table
    import sys
    from collections import Counter
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import tempfile

    from test_fuzz import run_case

    total, ok, bad = Counter(), Counter(), Counter()
    failures = []
    for case in all_cases():
        with tempfile.TemporaryDirectory() as tmp:
            rc, problem = run_case(case, Path(tmp))
        total[case.cls] += 1
        (ok if rc == 0 else bad)[case.cls] += 1
        if problem:
            failures.append(f"{case.ident}: {problem}")
    print("| class | cases | exit 0 | exit 2 |\n|---|---|---|---|")
    for cls in total:
        print(f"| {cls} | {total[cls]} | {ok[cls]} | {bad[cls]} |")
    print(f"| **all** | {sum(total.values())} | {sum(ok.values())} | {sum(bad.values())} |")
    print("\n".join(failures) or "no failures")
