"""CodeForces compiler names ("GNU C++17 (64)", "PyPy 3-64", "Java 21 64bit") to xlt codes.

One table entry per CodeForces language family: a regular expression matched against the
start of the compiler name, and the xlt (MultiPL-E) code it maps to, or None where the
family is a real CodeForces language that xlt cannot run (C, Kotlin, Pascal, Python 2, ...).
The first matching entry wins, so more specific patterns come first. A name that no entry
matches is `unknown_language`; a matched name with code None is `unsupported_language`.
Both are counted by the caller, never silently dropped.
"""

from __future__ import annotations

import re

# (pattern matched at the start of the compiler name, xlt code or None)
_TABLE: tuple[tuple[str, str | None], ...] = (
    # C++ before C: "GNU C++", "Clang++20 Diagnostics", "MS C++ 2017", "C++17 (GCC 7-32)".
    (r"(gnu |ms |clang)?\s*(g|c)\+\+", "cpp"),
    (r"clang\+\+", "cpp"),
    (r"(gnu |ms )?c(11|99)?\b(?!#)", None),  # C: no xlt runner
    (r"(mono |ms |\.net core |\.net )?c#", "cs"),
    (r"pypy\s*3|python\s*3", "py"),
    (r"pypy\s*2|python\s*2", None),  # Python 2 programs do not run under python3
    (r"java\s*\d|java\b(?!script)", "java"),
    (r"node\.?js|javascript|v8\b", "js"),
    (r"typescript", "ts"),
    (r"go\b|golang", "go"),
    (r"ruby", "rb"),
    (r"php", "php"),
    (r"perl", "pl"),
    (r"rust", "rs"),
    (r"scala", "scala"),
    (r"haskell", "hs"),
    (r"ocaml", "ml"),
    (r"d\b|dmd|ldc|gdc", "d"),
    (r"lua", "lua"),
    (r"swift", "swift"),
    (r"julia", "jl"),
    (r"racket", "rkt"),
    (r"elixir", "elixir"),
    (r"bash|shell", "sh"),
    (r"kotlin", None),
    (r"(free )?pascal|fpc|delphi|pascalabc", None),
    (r"f#|tcl|io\b|picat|pike|befunge|cobol|ada|factor|q#|j\b|secret|roco|mysterious", None),
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), code) for pattern, code in _TABLE)

UNKNOWN = "unknown_language"
UNSUPPORTED = "unsupported_language"


def normalize_language(compiler_name: str) -> tuple[str | None, str | None]:
    """(xlt code, None) for a runnable language, else (None, UNKNOWN or UNSUPPORTED)."""
    name = compiler_name.strip()
    for pattern, code in _COMPILED:
        if pattern.match(name):
            return (code, None) if code else (None, UNSUPPORTED)
    return None, UNKNOWN
