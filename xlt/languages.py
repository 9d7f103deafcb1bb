"""The languages xlt knows: one table entry per language (MultiPL-E's 22 codes).

An entry says how a program of that language is written to disk, compiled and
run, and how its outcome is judged. The pass rules follow MultiPL-E's own
evaluators (`nuprl/MultiPL-E` `evaluation/src/eval_<lang>.py`): exit status 0,
plus the language's extra rules where exit status alone lies (Racket and Scala
fail on any stderr; Perl on "ERROR"; Go on "FAIL"; JS on a `console.assert`
message; C# (mono) on a failed `Debug.Assert`, which still exits 0).

argv templates use `{src}` (the source file, relative to the program's own
folder), `{exe}` (the compiled program) and variables that the execution engine
fills per program (`{main_class}`, `{classpath}`, `{rust_externs}`, ...): a
variable expands to zero or more arguments. The first element of an argv is a
*tool* name, resolved by `xlt.execution.toolchains` to an absolute path.

    from xlt.languages import LANGUAGES, get_language
    get_language("java").run   # ('java', '-ea', ...)

Deviations from MultiPL-E (performance only, same verdicts, checked by
`python -m xlt.bench.execution`): Java/Scala JVM flags for faster start-up,
C++ may force-include a precompiled `bits/stdc++.h`, Rust builds with
`--edition 2021` (HumanEval-X programs `use` crates), TypeScript may type-check
in a persistent compiler process instead of one `tsc` per program.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# MultiPL-E's 22 language codes.
LANGUAGE_CODES: tuple[str, ...] = (
    "cpp", "cs", "d", "elixir", "go", "hs", "java", "jl", "js", "lua", "ml",
    "php", "pl", "py", "r", "rb", "rkt", "rs", "scala", "sh", "swift", "ts",
)  # fmt: skip

# The languages whose toolchains `scripts/install_toolchains.sh` installs and CI runs.
CI_LANGUAGES: tuple[str, ...] = (
    "py", "js", "ts", "cpp", "java", "rs", "go", "sh", "pl", "lua", "php", "rb",
)  # fmt: skip


def check_language(code: str, key: str) -> str:
    """Return `code` if xlt knows it, else raise a ValueError naming the config key and the choices."""
    if code not in LANGUAGE_CODES:
        raise ValueError(
            f"{key}: unknown language {code!r}. Use one of the MultiPL-E codes: "
            f"{', '.join(LANGUAGE_CODES)}"
        )
    return code


# --- program-dependent argv variables ----------------------------------------------

_JAVA_CLASS = re.compile(r"\bclass\s+([A-Za-z_]\w*)")
_JAVA_MAIN = re.compile(r"\bstatic\s+void\s+main\s*\(")


def java_main_class(program: str) -> dict[str, tuple[str, ...]]:
    """The top-level class that declares `main`: MultiPL-E's is `Problem`,
    HumanEval-X's and MBXP's `Main` (a completion's nested classes are skipped)."""
    main_at = _JAVA_MAIN.search(program)
    end = main_at.start() if main_at else len(program)
    top_level = [
        m.group(1)
        for m in _JAVA_CLASS.finditer(program, 0, end)
        if program.count("{", 0, m.start()) - program.count("}", 0, m.start()) == 0
    ]
    return {"main_class": (top_level[-1] if top_level else "Main",)}


def _no_vars(program: str) -> dict[str, tuple[str, ...]]:
    return {}


# --- the table -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # one instance per language: hashed by identity
class Language:
    code: str
    name: str
    source: str  # file name of the program inside its folder
    run: tuple[str, ...]  # argv template; run once (tests) or once per case (io)
    compile: tuple[str, ...] = ()  # argv template; empty: interpreted
    # Tool name -> executables to try, first found wins.
    tools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version: tuple[str, ...] = ()  # argv printing the toolchain version (doctor)
    heavy: bool = False  # compile (or go's compile-and-run) takes a heavy-worker slot
    env: Mapping[str, str] = field(default_factory=dict)  # added to the scrubbed environment
    argv_vars: Callable[[str], dict[str, tuple[str, ...]]] = _no_vars
    # Pass rules beyond exit status 0 (MultiPL-E's per-language rules).
    fail_on_stderr: bool = False
    fail_markers: tuple[str, ...] = ()  # in stdout or stderr: a failed test
    compile_error_markers: tuple[str, ...] = ()  # in the run's stdout: did not build (go test)
    jvm: bool = False  # compiled by a JVM-based compiler (no address-space limit on it)
    # Address space the runtime reserves beyond its heap (JVM metaspace and code
    # cache, V8's code range): added to memory_mb, while `{heap_mb}` caps the heap itself.
    reserve_mb: int = 0
    compiles_in_run: bool = False  # the run step also compiles (go test): compile limits apply
    cache_env: str | None = None  # env var naming a persistent per-worker build cache folder
    accelerator: str | None = None  # name of an xlt.execution.accel speed-up
    timeout_s: float = 10.0  # default wall-clock limit of the run step
    compile_timeout_s: float = 60.0
    ci: bool = False
    smoke: str = ""  # a tiny program that passes: `python -m xlt.doctor` runs it

    @property
    def compiled(self) -> bool:
        return bool(self.compile)


def _entry(code: str, name: str, **fields) -> Language:
    return Language(code=code, name=name, ci=code in CI_LANGUAGES, **fields)


# Node finds globally installed packages (MBXP's JS tests require lodash).
_NODE_ENV = {"NODE_PATH": "/usr/lib/node_modules:/usr/local/lib/node_modules"}
_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-Xmx{heap_mb}m")
_NODE_HEAP = "--max-old-space-size={heap_mb}"

_TABLE = (
    _entry("py", "Python", source="main.py", run=("python3", "{src}"),
           tools={"python3": ("python3",)}, version=("python3", "--version"),
           smoke="assert 1 + 1 == 2\n"),
    _entry("js", "JavaScript", source="main.js", run=("node", _NODE_HEAP, "{src}"),
           tools={"node": ("node", "nodejs")}, version=("node", "--version"), env=_NODE_ENV, reserve_mb=1024,
           # HumanEval-X JS tests use console.assert, which prints and exits 0.
           fail_markers=("Assertion failed",),
           smoke='const assert = require("node:assert");\nassert.strictEqual(1 + 1, 2);\n'),
    _entry("ts", "TypeScript", source="main.ts",
           compile=("tsc", "--target", "esnext", "{src}"), run=("node", _NODE_HEAP, "main.js"),
           tools={"tsc": ("tsc",), "node": ("node", "nodejs")}, version=("tsc", "--version"),
           heavy=True, accelerator="tsc_server", compile_timeout_s=60.0, env=_NODE_ENV, reserve_mb=1024,
           smoke='declare var require: any;\nconst assert = require("node:assert");\nconst two: number = 1 + 1;\nassert.strictEqual(two, 2);\n'),
    _entry("cpp", "C++", source="main.cpp",
           compile=("g++", "-std=c++17", "{pch}", "{src}", "-o", "main", "-lcrypto", "-lssl"),
           run=("./main",), tools={"g++": ("g++",)}, version=("g++", "--version"),
           heavy=True, accelerator="cpp_pch",
           smoke="#include <bits/stdc++.h>\nint main() { assert(1 + 1 == 2); }\n"),
    _entry("java", "Java", source="Main.java",
           compile=("javac", "-encoding", "UTF8", "-proc:none", "-cp", "{classpath}", "-d", ".", "{src}"),
           run=("java", "-ea", *_JVM_FLAGS, "-cp", ".:{classpath}", "{main_class}"),
           tools={"javac": ("javac",), "java": ("java",)}, version=("javac", "-version"),
           heavy=True, jvm=True, reserve_mb=2560, argv_vars=java_main_class, accelerator="javac_server",
           smoke="class Problem { public static void main(String[] a) { assert 1 + 1 == 2; } }\n"),
    _entry("rs", "Rust", source="main.rs",
           compile=("rustc", "--edition", "2021", "{rust_externs}", "{src}", "-o", "main"),
           run=("./main",), tools={"rustc": ("rustc",)}, version=("rustc", "--version"),
           heavy=True,
           smoke="fn main() { assert_eq!(1 + 1, 2); }\n"),
    _entry("go", "Go", source="main_test.go", run=("go", "test", "{src}"),
           tools={"go": ("go",)}, version=("go", "version"), heavy=True,
           compiles_in_run=True, cache_env="GOCACHE", compile_timeout_s=60.0,
           # GOPATH mode: the tests import testify from Debian's /usr/share/gocode.
           env={"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "CGO_ENABLED": "0",
                "GOFLAGS": "-count=1", "GOTOOLCHAIN": "local"},
           fail_markers=("FAIL",), compile_error_markers=("[setup failed]", "[build failed]"),
           smoke='package smoke_test\n\nimport "testing"\n\nfunc TestSmoke(t *testing.T) {\n\tif 1+1 != 2 {\n\t\tt.Fatal("1+1")\n\t}\n}\n'),
    _entry("sh", "Bash", source="main.sh", run=("bash", "{src}"),
           tools={"bash": ("bash",)}, version=("bash", "--version"),
           smoke="[[ $((1 + 1)) -eq 2 ]]\n"),
    _entry("pl", "Perl", source="main.pl", run=("perl", "{src}"),
           tools={"perl": ("perl",)}, version=("perl", "-e", "print $^V"),
           fail_markers=("ERROR",),
           smoke="use Test::Deep;\nexit(eq_deeply([1 + 1], [2]) ? 0 : 1);\n"),
    _entry("lua", "Lua", source="main.lua", run=("lua", "{src}"),
           tools={"lua": ("lua5.4", "lua5.3", "lua")}, version=("lua", "-v"),
           smoke='local lu = require("luaunit")\nfunction test_smoke() lu.assertEquals(1 + 1, 2) end\nos.exit(lu.LuaUnit.run())\n'),
    _entry("php", "PHP", source="main.php",
           run=("php", "-d", "zend.assertions=1", "-d", "assert.exception=1", "{src}"),
           tools={"php": ("php",)}, version=("php", "--version"),
           smoke="<?php\nassert(1 + 1 == 2);\n"),
    _entry("rb", "Ruby", source="main.rb", run=("ruby", "{src}"),
           tools={"ruby": ("ruby",)}, version=("ruby", "--version"),
           smoke='require "test/unit"\nclass TestSmoke < Test::Unit::TestCase\n  def test_smoke\n    assert_equal(2, 1 + 1)\n  end\nend\n'),
    # --- beyond the CI tier: run where the toolchain exists -----------------------
    _entry("cs", "C#", source="main.cs",
           compile=("mcs", "-d:DEBUG", "-r:System.Numerics.dll", "-out:main.exe", "{src}"),
           run=("mono", "main.exe"), tools={"mcs": ("mcs",), "mono": ("mono",)},
           version=("mono", "--version"), heavy=True,
           # A failed Debug.Assert prints and exits 0.
           fail_on_stderr=True,
           smoke="using System.Diagnostics;\nclass Problem { static void Main() { Debug.Assert(1 + 1 == 2); } }\n"),
    _entry("d", "D", source="main.d",
           compile=("gdc", "-funittest", "-fmain", "{src}", "-o", "main"), run=("./main",),
           tools={"gdc": ("gdc",)}, version=("gdc", "--version"), heavy=True,
           smoke="unittest { assert(1 + 1 == 2); }\n"),
    _entry("elixir", "Elixir", source="main.exs", run=("elixir", "{src}"),
           tools={"elixir": ("elixir",)}, version=("elixir", "--version"),
           smoke='ExUnit.start()\ndefmodule Smoke do\n  use ExUnit.Case\n  test "smoke" do\n    assert 1 + 1 == 2\n  end\nend\n'),
    _entry("hs", "Haskell", source="Main.hs", run=("runghc", "{src}"),
           tools={"runghc": ("runghc",)}, version=("runghc", "--version"), timeout_s=20.0,
           smoke='main :: IO ()\nmain = if 1 + 1 == (2 :: Int) then return () else error "1+1"\n'),
    _entry("jl", "Julia", source="main.jl", run=("julia", "{src}"),
           tools={"julia": ("julia",)}, version=("julia", "--version"), timeout_s=20.0,
           smoke="using Test\n@test 1 + 1 == 2\n"),
    _entry("ml", "OCaml", source="main.ml", run=("ocaml", "{src}"),
           tools={"ocaml": ("ocaml",)}, version=("ocaml", "-version"),
           smoke="let () = assert (1 + 1 = 2)\n"),
    _entry("r", "R", source="main.r", run=("Rscript", "{src}"),
           tools={"Rscript": ("Rscript",)}, version=("Rscript", "--version"),
           smoke="stopifnot(1 + 1 == 2)\n"),
    _entry("rkt", "Racket", source="main.rkt", run=("racket", "{src}"),
           tools={"racket": ("racket",)}, version=("racket", "--version"),
           # A failed rackunit check prints and exits 0.
           fail_on_stderr=True, timeout_s=20.0,
           smoke="#lang racket\n(require rackunit)\n(check-equal? (+ 1 1) 2)\n"),
    _entry("scala", "Scala", source="Main.scala",
           compile=("scalac", "-d", ".", "{src}"),
           run=("scala", "-J-Xshare:auto", "-cp", ".", "Problem"),
           tools={"scalac": ("scalac",), "scala": ("scala",)}, version=("scalac", "-version"),
           heavy=True, jvm=True, reserve_mb=2560, fail_on_stderr=True, compile_timeout_s=120.0,
           smoke="object Problem { def main(args: Array[String]): Unit = { assert(1 + 1 == 2) } }\n"),
    _entry("swift", "Swift", source="main.swift", compile=("swiftc", "{src}", "-o", "main"),
           run=("./main",), tools={"swiftc": ("swiftc",)}, version=("swiftc", "--version"),
           heavy=True,
           smoke="assert(1 + 1 == 2)\n"),
)  # fmt: skip

LANGUAGES: Mapping[str, Language] = MappingProxyType({entry.code: entry for entry in _TABLE})
assert set(LANGUAGES) == set(LANGUAGE_CODES), "one table entry per MultiPL-E code"


def get_language(code: str) -> Language:
    return LANGUAGES[check_language(code, "language")]
