"""CodeForces compiler names to xlt codes."""

from __future__ import annotations

import pytest

from xlt.data.codeforces.languages import UNKNOWN, UNSUPPORTED, normalize_language
from xlt.languages import LANGUAGE_CODES


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("GNU C++17", "cpp"),
        ("GNU C++20 (64)", "cpp"),
        ("C++17 (GCC 7-32)", "cpp"),
        ("Clang++20 Diagnostics", "cpp"),
        ("MS C++ 2017", "cpp"),
        ("GNU G++17 7.3.0", "cpp"),
        ("Python 3", "py"),
        ("PyPy 3-64", "py"),
        ("PyPy 3.10 (7.3.15, 64bit)", "py"),
        ("Java 8", "java"),
        ("Java 21 64bit", "java"),
        ("JavaScript V8 4.8.0", "js"),
        ("Node.js 15.8.0", "js"),
        ("Go", "go"),
        ("Go 1.22.2", "go"),
        ("Ruby 3", "rb"),
        ("PHP 8.1", "php"),
        ("Perl 5.20.1", "pl"),
        ("Rust 2021", "rs"),
        ("Scala 2.12", "scala"),
        ("Haskell GHC 8.10.1", "hs"),
        ("OCaml 4.02.1", "ml"),
        ("D DMD32 v2.105.0", "d"),
        ("C# 10", "cs"),
        ("Mono C# 5.2", "cs"),
        ("MS C# .NET 4.0", "cs"),
    ],
)
def test_runnable_languages_map_to_xlt_codes(name, code):
    assert normalize_language(name) == (code, None)
    assert code in LANGUAGE_CODES


@pytest.mark.parametrize(
    "name",
    ["GNU C11", "GNU C", "Kotlin 1.7", "Python 2", "PyPy 2", "Delphi 7", "FPC 3.0.2", "Befunge"],
)
def test_codeforces_languages_xlt_cannot_run_are_unsupported(name):
    assert normalize_language(name) == (None, UNSUPPORTED)


@pytest.mark.parametrize("name", ["Brainfuck 2024", "", "Whitespace"])
def test_names_outside_the_table_are_unknown(name):
    assert normalize_language(name) == (None, UNKNOWN)
