"""The languages xlt knows: one table entry per language (MultiPL-E's 22 codes).

An entry says how a program of that language is written to disk, compiled and
run, and how its outcome is judged. The pass rules follow MultiPL-E's own
evaluators (`nuprl/MultiPL-E` `evaluation/src/eval_<lang>.py`): exit status 0,
plus the language's extra rules where exit status alone lies (Racket and Scala
fail on any stderr; Perl on "ERROR"; Go on "FAIL" (xlt runs the test binary itself:
its exit status says it); JS on a `console.assert`
message; C# (mono) on a failed `Debug.Assert`, which still exits 0).

An entry also holds the language's facts outside execution: fence tags and MultiPL-E stop
sequences (generation), aliases (error hints), the chat-answer rule (`ChatRule`, each
citing the harness it follows), a default-returning body for negative controls, and the
CodeForces time factor. Shared code reads these fields; it never branches on a language.

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
# Comments and string/char literals (text blocks first): their braces and words are not code.
_JAVA_NOISE = re.compile(
    r'"""[\s\S]*?"""|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|//[^\n]*|/\*[\s\S]*?\*/'
)


def java_main_class(program: str) -> dict[str, tuple[str, ...]]:
    """The top-level class around the program's LAST `main`: the tests' (MultiPL-E's
    `Problem`, HumanEval-X's and MBXP's `Main`), since the tests come after the completion.
    The first `main` would let a completion declare a class of its own with an empty
    `main` that the run starts instead of the tests. Braces in comments and literals are
    blanked so that they cannot hide a class's nesting depth."""
    code = _JAVA_NOISE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), program)
    mains = list(_JAVA_MAIN.finditer(code))
    end = mains[-1].start() if mains else len(code)
    top_level = [
        m.group(1)
        for m in _JAVA_CLASS.finditer(code, 0, end)
        if code.count("{", 0, m.start()) - code.count("}", 0, m.start()) == 0
    ]
    return {"main_class": (top_level[-1] if top_level else "Main",)}


def _no_vars(program: str) -> dict[str, tuple[str, ...]]:
    return {}


# --- negative controls: a body that returns a default value ---------------------------

_JAVA_SIGNATURE = re.compile(r"([\w.<>\[\], ?]+?)\s+\w+\s*\([^)]*\)\s*(?:throws [\w., ]+)?\{\s*$")
_JAVA_DEFAULTS = {"int": "0", "long": "0L", "short": "0", "byte": "0", "boolean": "false",
                  "double": "0.0", "float": "0.0f", "char": "'a'", "void": ""}  # fmt: skip
_GO_SIGNATURE = re.compile(r"func\s+\w+\s*\([^{]*?\)\s*([^{]*?)\s*\{\s*$")


def _java_default_body(prompt: str) -> str:
    """The zero of the method's return type (from the prompt's last line, the signature)."""
    match = _JAVA_SIGNATURE.search(prompt.rstrip().splitlines()[-1] + "\n")
    kind = match.group(1).split()[-1] if match else "Object"
    return f"        return {_JAVA_DEFAULTS.get(kind, 'null')};\n"


def _go_default_body(prompt: str) -> str:
    """The zero value of the function's result type; a panic for multiple results."""
    match = _GO_SIGNATURE.search(prompt)
    kind = match.group(1).strip() if match else ""
    if not kind:
        return "    return\n"
    if kind.startswith("("):
        return '    panic("wrong")\n'
    return f"    var zero {kind}\n    return zero\n"


def _returns(body: str) -> Callable[[str], str]:
    return lambda prompt: body


# --- chat answers --------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRule:
    """How a chat answer's code becomes the program of a MultiPL-E-style `tests` problem
    (`xlt.generation.answers`). Regexes match an item's first code line unless noted.

    The rules follow what harnesses do with free-form answers, cited per entry:
    SandboxFusion `sandbox/datasets/multiple.py` (answer code + tests; Go packages and
    imports merged; D/C# `main` removed), bigcode-evaluation-harness
    `bigcode_eval/tasks/humanevalpack.py` (whole function by bracket counting; C++ cut at
    `int main`; Rust's extra `fn main`; Go imports that are used), evalplus
    `evalplus/sanitize.py` (Python: imports plus the definitions reachable from the entry
    point; example calls and `if __name__` blocks dropped).
    """

    source: str  # where the rule comes from
    entry: str  # MULTILINE regex; its last match in the prompt is the requested function (group 1)
    definitions: tuple[str, ...]  # group 1: the name an item defines
    imports: str = ""  # kept whatever uses them, each once, above the code
    drop: str = ""  # never kept (a second `package`, `<?php`)
    line_comment: tuple[str, ...] = ()
    block_comment: tuple[str, str] | None = None
    single_quote_strings: bool = True  # False: `'` is a char literal (or a Rust lifetime)
    backtick_strings: bool = False  # JS/TS template literals, Go raw strings
    regex_literals: bool = False  # JS/TS `/\//`: not a comment, brackets inside do not count
    count_parens: bool = True  # False for Bash (`case` patterns end in a lone `)`)
    opens: str = ""  # block-opening keywords (Lua, Ruby), counted like `{`
    closes: str = ""  # block-closing keywords, counted like `}`
    python_ast: bool = False  # split with Python's own parser
    indent_continues: bool = False  # an indented line continues the item above it
    strip_prefix: str = ""  # removed from an item's first line (`export ` in JS/TS)
    tests_open_with: str = ""  # the tests start by closing the prompt's function: removed
    imports_before: str = ""  # MULTILINE regex in the prompt head: answer imports go before it
    imports_must_be_used: bool = False  # Go rejects unused imports: keep the used ones
    members_of_class: bool = False  # Java: the function is a member of the answer's class
    container: str = ""  # Java: a top-level class declaration


_C_COMMENTS = {"line_comment": ("//",), "block_comment": ("/*", "*/")}
_SANDBOXFUSION = "SandboxFusion sandbox/datasets/multiple.py"
_HUMANEVALPACK = "bigcode-evaluation-harness bigcode_eval/tasks/humanevalpack.py"
_JS_DEFS = (
    r"(?:async\s+)?function\s*\*?\s*(\w+)", r"class\s+(\w+)", r"(?:const|let|var)\s+(\w+)",
)  # fmt: skip

_CHAT_RULES = {
    "py": ChatRule(
        source="evalplus evalplus/sanitize.py (imports + definitions reachable from the entry point)",
        entry=r"^def\s+(\w+)",
        definitions=(r"(?:async\s+)?def\s+(\w+)", r"class\s+(\w+)", r"(\w+)\s*(?::[^=]*)?=(?!=)"),
        imports=r"(?:import|from)\s", drop=r"from\s+__future__\s",
        line_comment=("#",), python_ast=True, indent_continues=True,
    ),
    "js": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); {_HUMANEVALPACK} (brace counting)",
        entry=r"^(?:function\s+|(?:const|let|var)\s+)(\w+)", definitions=_JS_DEFS, backtick_strings=True,
        regex_literals=True,
        strip_prefix=r"^export\s+(?:default\s+)?", **_C_COMMENTS,
    ),
    "ts": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); {_HUMANEVALPACK} (brace counting)",
        entry=r"^(?:function\s+|(?:const|let|var)\s+)(\w+)",
        definitions=(*_JS_DEFS, r"(?:interface|type|enum)\s+(\w+)"), backtick_strings=True,
        regex_literals=True,
        strip_prefix=r"^export\s+(?:default\s+)?", **_C_COMMENTS,
    ),
    "cpp": ChatRule(
        source=f"{_HUMANEVALPACK} (cut at `int main`); {_SANDBOXFUSION} (remove_main)",
        entry=r"^(?![ \t]*(?://|#))[^\n(;]*?\b(\w+)\s*\(",
        definitions=(
            r"(?:template\s*<.*>\s*)?(?:struct|class|union|enum(?:\s+class)?)\s+(\w+)",
            r"using\s+(\w+)\s*=", r"#\s*define\s+(\w+)",
            r"(?!.*<<)(?!return\b)(?:[\w:<>,*&]+\s+|[\w:<>,*&]+[*&]\s*)+[*&]?(\w+)\s*\(",
            r"(?!.*<<)(?:[\w:<>,*&]+\s+)+[*&]?(\w+)\s*(?:=|;|\[|\{)",
        ),
        imports=r"#\s*include\b|using\s+namespace\b", single_quote_strings=False,
        tests_open_with="}", **_C_COMMENTS,
    ),
    "java": ChatRule(
        source=f"{_HUMANEVALPACK} (`public class Main` removed); SandboxFusion sandbox/utils/extraction.py (methods from the class)",
        entry=r"^[ \t]+(?:(?:public|private|protected|static|final)\s+)+[^=;(\n]*?\b(\w+)\s*\(",
        definitions=(
            r"(?:(?:public|private|protected|static|final|abstract)\s+)*(?:class|interface|enum|record)\s+(\w+)",
            r"(?:(?:public|private|protected|static|final|synchronized)\s+)*(?:<[^>]+>\s+)?[\w<>\[\],.? ]+?\s+(\w+)\s*\(",
            r"(?:(?:public|private|protected|static|final)\s+)*[\w<>\[\],.? ]+?\s+(\w+)\s*(?:=|;)",
        ),
        imports=r"import\s", drop=r"package\s", single_quote_strings=False,
        tests_open_with="    }", imports_before=r"^(?:(?:public|final|abstract)\s+)*class\s",
        members_of_class=True,
        container=r"(?:(?:public|private|protected|static|final|abstract)\s+)*class\s+\w+",
        **_C_COMMENTS,
    ),
    "rs": ChatRule(
        source=f"{_HUMANEVALPACK} (the answer's `fn main` goes)",
        entry=r"^(?:pub(?:\([^)]*\))?\s+)?fn\s+(\w+)",
        definitions=(
            r"(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|async|unsafe)\s+)*fn\s+(\w+)",
            r"(?:pub\s+)?(?:struct|enum|trait|type|union)\s+(\w+)",
            r"(?:pub\s+)?(?:const|static)\s+(?:mut\s+)?(\w+)",
            r"impl(?:<[^>]*>)?\s+(?:[\w:]+(?:<[^>]*>)?\s+for\s+)?(\w+)", r"macro_rules!\s*(\w+)",
        ),
        imports=r"(?:pub\s+)?use\s|extern\s+crate\s", single_quote_strings=False,
        tests_open_with="}", **_C_COMMENTS,
    ),
    "go": ChatRule(
        source=f"{_SANDBOXFUSION} (packages and imports merged); {_HUMANEVALPACK} (only used packages)",
        entry=r"^func\s+(\w+)",
        definitions=(
            r"func\s*\(\s*\w*\s*\*?\s*(\w+)[^)]*\)", r"func\s+(\w+)", r"type\s+(\w+)",
            r"(?:var|const)\s+(\w+)",
        ),
        imports=r"import\b", drop=r"package\b", single_quote_strings=False,
        backtick_strings=True, imports_must_be_used=True,
        imports_before=r"^(?://|func\b|type\b|var\b|const\b)", **_C_COMMENTS,
    ),
    "sh": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); functions kept, top-level commands dropped",
        entry=r"^(\w+)\s*\(\)",
        definitions=(
            r"(?:function\s+)?(\w+)\s*\(\s*\)", r"function\s+(\w+)",
            r"(?:(?:declare|local|readonly|export)\s+(?:-\w+\s+)*)?(\w+)=",
        ),
        line_comment=("#",), count_parens=False, tests_open_with="}",
    ),
    "pl": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); subs kept, top-level calls dropped",
        entry=r"^sub\s+(\w+)",
        definitions=(r"sub\s+(\w+)", r"(?:my|our)\s+[$@%](\w+)", r"use\s+constant\s+(\w+)"),
        imports=r"(?:use|require|no)\s+(?!constant\b)", line_comment=("#",),
    ),
    "lua": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); `function`/`end` counted as blocks",
        entry=r"^(?:local\s+)?function\s+(\w+)",
        definitions=(
            r"(?:local\s+)?function\s+(?:\w+[.:])?(\w+)", r"local\s+(\w+)", r"(\w+)\s*=(?!=)",
        ),
        line_comment=("--",), block_comment=("--[[", "]]"),
        opens=r"\b(?:function|if|do|repeat)\b", closes=r"\b(?:end|until)\b",
    ),
    "php": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); a second `<?php` dropped",
        entry=r"^function\s+(\w+)",
        definitions=(
            r"function\s+(\w+)", r"(?:abstract\s+|final\s+)?class\s+(\w+)", r"const\s+(\w+)",
            r"define\(\s*['\"](\w+)", r"\$(\w+)\s*=(?!=)",
        ),
        imports=r"(?:use\s|require(?:_once)?\b|include(?:_once)?\b)", drop=r"<\?php|\?>",
        line_comment=("//", "#"), block_comment=("/*", "*/"),
    ),
    "rb": ChatRule(
        source=f"{_SANDBOXFUSION} (whole block + tests); `def`/`end` counted as blocks",
        entry=r"^def\s+(\w+[?!]?)",
        definitions=(
            r"def\s+(?:self\.)?(\w+[?!]?)", r"(?:class|module)\s+(\w+)",
            r"([A-Za-z_]\w*)\s*=(?![=~])",
        ),
        imports=r"require(?:_relative)?\b", line_comment=("#",),
        opens=r"^\s*(?:def|class|module|if|unless|while|until|for|case|begin)\b|\bdo\b|=\s*(?:if|unless|case|begin)\b",
        closes=r"\bend\b",
    ),
}  # fmt: skip


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
    # Env var naming the build cache folder: per job, seeded from a read-only cache that
    # the engine fills once by running `cache_primer` (file name, trusted program).
    cache_env: str | None = None
    cache_primer: tuple[str, str] | None = None
    accelerator: str | None = None  # name of an xlt.execution.accel speed-up
    timeout_s: float = 10.0  # default wall-clock limit of the run step
    compile_timeout_s: float = 60.0
    ci: bool = False
    smoke: str = ""  # a tiny program that passes: `python -m xlt.doctor` runs it
    # --- text around generation and scoring
    # Info-string tags a model may put on a fenced block; the first is what xlt writes.
    fence_tags: tuple[str, ...] = ()
    # MultiPL-E's stop sequences, as in every row of its HumanEval prompts (`stop_tokens`);
    # for completions of prompts that carry none (micro suite, prefilled chat).
    stop_sequences: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # names people type for the language (error hints)
    chat: ChatRule | None = None  # chat answer -> program; None: read as a continuation
    # Negative controls (xlt.data.controls): a body returning a default value, from the
    # prompt, and the text that closes a function ("" for Python).
    default_body: Callable[[str], str] | None = None
    closer: str = "}"
    # CodeForces io problems: how much longer than the C++ limit this language may run.
    # Our defaults, not the paper's; judges that accept slow languages scale similarly.
    time_factor: float = 1.0

    @property
    def compiled(self) -> bool:
        return bool(self.compile)


def _entry(code: str, name: str, **fields) -> Language:
    return Language(code=code, name=name, ci=code in CI_LANGUAGES, **fields)


# Fills Go's read-only build cache: testify and the standard packages that HumanEval-X,
# MBXP and MultiPL-E Go programs import (with their vet facts, as `go test` needs them).
_GO_PRIMER = """package primer_test

import (
	_ "bytes"
	_ "container/heap"
	_ "container/list"
	_ "crypto/md5"
	_ "encoding/json"
	_ "errors"
	_ "fmt"
	_ "math"
	_ "math/big"
	_ "math/rand"
	_ "reflect"
	_ "regexp"
	_ "sort"
	_ "strconv"
	_ "strings"
	_ "time"
	_ "unicode"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrimer(t *testing.T) {
	assert.Equal(t, 2, 1+1)
}
"""

# Node finds globally installed packages (MBXP's JS tests require lodash).
_NODE_ENV = {"NODE_PATH": "/usr/lib/node_modules:/usr/local/lib/node_modules"}
_JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-Xmx{heap_mb}m")
_NODE_HEAP = "--max-old-space-size={heap_mb}"

_TABLE = (
    _entry("py", "Python", time_factor=5.0,
           fence_tags=("python", "py", "python3"), stop_sequences=("\ndef", "\n#", "\nif", "\nclass"), aliases=("python",), chat=_CHAT_RULES["py"],
           default_body=_returns("    return None\n"), closer="",
           source="main.py", run=("python3", "{src}"),
           tools={"python3": ("python3",)}, version=("python3", "--version"),
           smoke="assert 1 + 1 == 2\n"),
    _entry("js", "JavaScript", time_factor=3.0,
           fence_tags=("javascript", "js", "node", "nodejs"), stop_sequences=("\nfunction ", "\n/*", "\n//", "\nconsole.log"), aliases=("javascript",), chat=_CHAT_RULES["js"],
           default_body=_returns("  return undefined;\n"),
           source="main.js", run=("node", _NODE_HEAP, "{src}"),
           tools={"node": ("node", "nodejs")}, version=("node", "--version"), env=_NODE_ENV, reserve_mb=1024,
           # HumanEval-X JS tests use console.assert, which prints and exits 0.
           fail_markers=("Assertion failed",),
           smoke='const assert = require("node:assert");\nassert.strictEqual(1 + 1, 2);\n'),
    _entry("ts", "TypeScript", time_factor=3.0,
           fence_tags=("typescript", "ts"), stop_sequences=("\nfunction ", "\n/*", "\n//", "\nclass"), aliases=("typescript",), chat=_CHAT_RULES["ts"],
           default_body=_returns("  return undefined as any;\n"),
           source="main.ts",
           compile=("tsc", "--target", "esnext", "{src}"), run=("node", _NODE_HEAP, "main.js"),
           tools={"tsc": ("tsc",), "node": ("node", "nodejs")}, version=("tsc", "--version"),
           heavy=True, accelerator="tsc_server", compile_timeout_s=60.0, env=_NODE_ENV, reserve_mb=1024,
           smoke='declare var require: any;\nconst assert = require("node:assert");\nconst two: number = 1 + 1;\nassert.strictEqual(two, 2);\n'),
    _entry("cpp", "C++",
           fence_tags=("cpp", "c++", "cc", "cxx"), stop_sequences=("\n}",), aliases=("c++",), chat=_CHAT_RULES["cpp"],
           default_body=_returns("  return {};\n"),
           source="main.cpp",
           compile=("g++", "-std=c++17", "{pch}", "{src}", "-o", "main", "-lcrypto", "-lssl"),
           run=("./main",), tools={"g++": ("g++",)}, version=("g++", "--version"),
           heavy=True, accelerator="cpp_pch",
           smoke="#include <bits/stdc++.h>\nint main() { assert(1 + 1 == 2); }\n"),
    _entry("java", "Java", time_factor=2.0,
           fence_tags=("java",), stop_sequences=("\n    }\n",), chat=_CHAT_RULES["java"],
           default_body=_java_default_body,
           source="Main.java",
           compile=("javac", "-encoding", "UTF8", "-proc:none", "-cp", "{classpath}", "-d", ".", "{src}"),
           run=("java", "-ea", *_JVM_FLAGS, "-cp", ".:{classpath}", "{main_class}"),
           tools={"javac": ("javac",), "java": ("java",)}, version=("javac", "-version"),
           heavy=True, jvm=True, reserve_mb=2560, argv_vars=java_main_class, accelerator="javac_server",
           smoke="class Problem { public static void main(String[] a) { assert 1 + 1 == 2; } }\n"),
    _entry("rs", "Rust",
           fence_tags=("rust", "rs"), stop_sequences=("\n}",), aliases=("rust",), chat=_CHAT_RULES["rs"],
           default_body=_returns("    return Default::default();\n"),
           source="main.rs",
           compile=("rustc", "--edition", "2021", "{rust_externs}", "{src}", "-o", "main"),
           run=("./main",), tools={"rustc": ("rustc",)}, version=("rustc", "--version"),
           heavy=True,
           smoke="fn main() { assert_eq!(1 + 1, 2); }\n"),
    _entry("go", "Go", time_factor=1.5,
           fence_tags=("go", "golang"), stop_sequences=("\nfunc", "struct", "\n// "), aliases=("golang",), chat=_CHAT_RULES["go"],
           default_body=_go_default_body,
           # `go test FILE` in two steps: the compile (vet included) holds a heavy slot and
           # the compile limits; the test binary runs with go test's flags and the run's
           # limits (an endless loop no longer holds the compile slot for 70 s).
           source="main_test.go", compile=("go", "test", "-c", "-o", "main.test", "{src}"),
           run=("./main.test", "-test.paniconexit0", "-test.timeout=10m0s"),
           tools={"go": ("go",)}, version=("go", "version"), heavy=True,
           cache_env="GOCACHE", cache_primer=("primer_test.go", _GO_PRIMER),
           compile_timeout_s=60.0,
           # GOPATH mode: the tests import testify from Debian's /usr/share/gocode.
           env={"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "CGO_ENABLED": "0",
                "GOFLAGS": "-count=1", "GOTOOLCHAIN": "local"},
           # The binary's own exit status: 1 when a test fails (it prints FAIL), 2 on a
           # panic. Its output is not scanned for "FAIL": `go test FILE` hides a passing
           # binary's output, so a program printing the word passed MultiPL-E's rule.
           # The runtime reserves ~600 MB of address space at start.
           reserve_mb=1024,
           smoke='package smoke_test\n\nimport "testing"\n\nfunc TestSmoke(t *testing.T) {\n\tif 1+1 != 2 {\n\t\tt.Fatal("1+1")\n\t}\n}\n'),
    _entry("sh", "Bash", time_factor=10.0,
           fence_tags=("bash", "sh", "shell"), stop_sequences=("\n}",), aliases=("bash",), chat=_CHAT_RULES["sh"],
           default_body=_returns('  echo ""\n'),
           source="main.sh", run=("bash", "{src}"),
           tools={"bash": ("bash",)}, version=("bash", "--version"),
           smoke="[[ $((1 + 1)) -eq 2 ]]\n"),
    _entry("pl", "Perl", time_factor=5.0,
           fence_tags=("perl", "pl"), stop_sequences=("\nsub", "\n#", "\n\n"), aliases=("perl",), chat=_CHAT_RULES["pl"],
           default_body=_returns("  return undef;\n"),
           source="main.pl", run=("perl", "{src}"),
           tools={"perl": ("perl",)}, version=("perl", "-e", "print $^V"),
           fail_markers=("ERROR",),
           smoke="use Test::Deep;\nexit(eq_deeply([1 + 1], [2]) ? 0 : 1);\n"),
    _entry("lua", "Lua", time_factor=4.0,
           fence_tags=("lua",), stop_sequences=("\nlocal", "\nfunction", "\n--", "\n\n"), chat=_CHAT_RULES["lua"],
           default_body=_returns("  return nil\n"), closer="end",
           source="main.lua", run=("lua", "{src}"),
           tools={"lua": ("lua5.4", "lua5.3", "lua")}, version=("lua", "-v"),
           smoke='local lu = require("luaunit")\nfunction test_smoke() lu.assertEquals(1 + 1, 2) end\nos.exit(lu.LuaUnit.run())\n'),
    _entry("php", "PHP", time_factor=4.0,
           fence_tags=("php",), stop_sequences=("\nfunction", "\n?>", "\n//", "\n#"), chat=_CHAT_RULES["php"],
           default_body=_returns("  return null;\n"),
           source="main.php",
           run=("php", "-d", "zend.assertions=1", "-d", "assert.exception=1", "{src}"),
           tools={"php": ("php",)}, version=("php", "--version"),
           smoke="<?php\nassert(1 + 1 == 2);\n"),
    _entry("rb", "Ruby", time_factor=5.0,
           fence_tags=("ruby", "rb"), stop_sequences=("\nclass", "\ndef", "\n#", "\n\n"), aliases=("ruby",), chat=_CHAT_RULES["rb"],
           default_body=_returns("  return nil\n"), closer="end",
           source="main.rb", run=("ruby", "{src}"),
           tools={"ruby": ("ruby",)}, version=("ruby", "--version"),
           smoke='require "test/unit"\nclass TestSmoke < Test::Unit::TestCase\n  def test_smoke\n    assert_equal(2, 1 + 1)\n  end\nend\n'),
    # --- beyond the CI tier: run where the toolchain exists -----------------------
    _entry("cs", "C#", time_factor=2.0,
           fence_tags=("csharp", "cs", "c#"), stop_sequences=("\n    }\n",), aliases=("csharp", "c#"),
           source="main.cs",
           compile=("mcs", "-d:DEBUG", "-r:System.Numerics.dll", "-out:main.exe", "{src}"),
           run=("mono", "main.exe"), tools={"mcs": ("mcs",), "mono": ("mono",)},
           version=("mono", "--version"), heavy=True,
           # A failed Debug.Assert prints and exits 0.
           fail_on_stderr=True,
           smoke="using System.Diagnostics;\nclass Problem { static void Main() { Debug.Assert(1 + 1 == 2); } }\n"),
    _entry("d", "D",
           fence_tags=("d",), stop_sequences=("\n\n", "\nvoid", "\nbool", "\nint"),
           source="main.d",
           compile=("gdc", "-funittest", "-fmain", "{src}", "-o", "main"), run=("./main",),
           tools={"gdc": ("gdc",)}, version=("gdc", "--version"), heavy=True,
           smoke="unittest { assert(1 + 1 == 2); }\n"),
    _entry("elixir", "Elixir", time_factor=4.0,
           fence_tags=("elixir", "ex", "exs"), stop_sequences=("\ndefmodule", "\ndefp", "\ndef ", "\n#", "\n\n"),
           source="main.exs", run=("elixir", "{src}"),
           tools={"elixir": ("elixir",)}, version=("elixir", "--version"),
           smoke='ExUnit.start()\ndefmodule Smoke do\n  use ExUnit.Case\n  test "smoke" do\n    assert 1 + 1 == 2\n  end\nend\n'),
    _entry("hs", "Haskell", time_factor=2.0,
           fence_tags=("haskell", "hs"), stop_sequences=("\n\n", "\n{-", "\n-- |", "\n--", "\ntype", "\ndata", "\nnewtype"), aliases=("haskell",),
           source="Main.hs", run=("runghc", "{src}"),
           tools={"runghc": ("runghc",)}, version=("runghc", "--version"), timeout_s=20.0,
           smoke='main :: IO ()\nmain = if 1 + 1 == (2 :: Int) then return () else error "1+1"\n'),
    _entry("jl", "Julia", time_factor=3.0,
           fence_tags=("julia", "jl"), stop_sequences=("\nfunction", "\nmacro", "\n\n"), aliases=("julia",),
           source="main.jl", run=("julia", "{src}"),
           tools={"julia": ("julia",)}, version=("julia", "--version"), timeout_s=20.0,
           smoke="using Test\n@test 1 + 1 == 2\n"),
    _entry("ml", "OCaml", time_factor=1.5,
           fence_tags=("ocaml", "ml"), stop_sequences=("\n\n", "\n(*", "\ntype", "\nlet"), aliases=("ocaml",),
           source="main.ml", run=("ocaml", "{src}"),
           tools={"ocaml": ("ocaml",)}, version=("ocaml", "-version"),
           smoke="let () = assert (1 + 1 = 2)\n"),
    _entry("r", "R", time_factor=6.0,
           fence_tags=("r",), stop_sequences=("\n#", "\n```"),
           source="main.r", run=("Rscript", "{src}"),
           tools={"Rscript": ("Rscript",)}, version=("Rscript", "--version"),
           smoke="stopifnot(1 + 1 == 2)\n"),
    _entry("rkt", "Racket", time_factor=4.0,
           fence_tags=("racket", "rkt", "scheme"), stop_sequences=("\n(define ", "\n#|", "\n;", "\n("), aliases=("racket",),
           source="main.rkt", run=("racket", "{src}"),
           tools={"racket": ("racket",)}, version=("racket", "--version"),
           # A failed rackunit check prints and exits 0.
           fail_on_stderr=True, timeout_s=20.0,
           smoke="#lang racket\n(require rackunit)\n(check-equal? (+ 1 1) 2)\n"),
    _entry("scala", "Scala", time_factor=3.0,
           fence_tags=("scala",), stop_sequences=("\n    }\n",),
           source="Main.scala",
           compile=("scalac", "-d", ".", "{src}"),
           run=("scala", "-J-Xshare:auto", "-cp", ".", "Problem"),
           tools={"scalac": ("scalac",), "scala": ("scala",)}, version=("scalac", "-version"),
           heavy=True, jvm=True, reserve_mb=2560, fail_on_stderr=True, compile_timeout_s=120.0,
           smoke="object Problem { def main(args: Array[String]): Unit = { assert(1 + 1 == 2) } }\n"),
    _entry("swift", "Swift", time_factor=1.5,
           fence_tags=("swift",), stop_sequences=("\n}",),
           source="main.swift", compile=("swiftc", "{src}", "-o", "main"),
           run=("./main",), tools={"swiftc": ("swiftc",)}, version=("swiftc", "--version"),
           heavy=True,
           smoke="assert(1 + 1 == 2)\n"),
)  # fmt: skip

LANGUAGES: Mapping[str, Language] = MappingProxyType({entry.code: entry for entry in _TABLE})
assert set(LANGUAGES) == set(LANGUAGE_CODES), "one table entry per MultiPL-E code"


def get_language(code: str) -> Language:
    return LANGUAGES[check_language(code, "language")]
