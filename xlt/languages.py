"""The languages xlt knows: one table entry per language.

The execution engine extends each entry with file naming, compile/run argv and
pass rules (issue: execution engine). Codes are MultiPL-E's.
"""

from __future__ import annotations

# MultiPL-E's 22 language codes.
LANGUAGE_CODES: tuple[str, ...] = (
    "cpp", "cs", "d", "elixir", "go", "hs", "java", "jl", "js", "lua", "ml",
    "php", "pl", "py", "r", "rb", "rkt", "rs", "scala", "sh", "swift", "ts",
)  # fmt: skip


def check_language(code: str, key: str) -> str:
    """Return `code` if xlt knows it, else raise a ValueError naming the config key and the choices."""
    if code not in LANGUAGE_CODES:
        raise ValueError(
            f"{key}: unknown language {code!r}. Use one of the MultiPL-E codes: "
            f"{', '.join(LANGUAGE_CODES)}"
        )
    return code
