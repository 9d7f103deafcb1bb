"""The language table: one entry per MultiPL-E code, consistent and complete."""

import re

import pytest

from xlt.languages import (
    CI_LANGUAGES,
    LANGUAGE_CODES,
    LANGUAGES,
    check_language,
    java_main_class,
)


def test_one_entry_per_multipl_e_code():
    assert len(LANGUAGE_CODES) == 22
    assert tuple(LANGUAGES) == LANGUAGE_CODES or set(LANGUAGES) == set(LANGUAGE_CODES)
    assert set(CI_LANGUAGES) <= set(LANGUAGE_CODES)
    assert {code for code, entry in LANGUAGES.items() if entry.ci} == set(CI_LANGUAGES)


@pytest.mark.parametrize("code", LANGUAGE_CODES)
def test_entry_is_complete(code):
    entry = LANGUAGES[code]
    assert entry.code == code and entry.name and entry.source and entry.run and entry.smoke
    # Every argv starts with a tool the entry declares, or with the compiled program.
    for argv in (entry.run, entry.compile):
        if argv:
            assert argv[0] in entry.tools or argv[0].startswith("./") or argv[0] == "main.js", argv
    # A compiled language's run step must not name the source file.
    if entry.compiled:
        assert "{src}" in entry.compile
    assert re.fullmatch(r"[\w.]+", entry.source)


def test_check_language_names_the_key_and_the_choices():
    assert check_language("py", "rl.source_language") == "py"
    with pytest.raises(ValueError, match=r"rl\.source_language: unknown language 'python'.*py"):
        check_language("python", "rl.source_language")


def test_java_main_class_is_the_class_declaring_main():
    multipl_e = (
        "class Problem {\n static int f() { return 1; }\n public static void main(String[] a) {}\n}"
    )
    humaneval_x = "class Solution { int f() { return 1; } }\npublic class Main { public static void main(String[] args) {} }"
    assert java_main_class(multipl_e) == {"main_class": ("Problem",)}
    assert java_main_class(humaneval_x) == {"main_class": ("Main",)}
    nested = (
        "class Problem {\n static class Pair { int a; }\n public static void main(String[] a) {}\n}"
    )
    assert java_main_class(nested) == {"main_class": ("Problem",)}


def test_java_main_class_is_the_last_mains_and_ignores_braces_in_literals_and_comments():
    # A completion's own class with an empty main, before the tests' class: not started.
    extra = (
        "class Problem { static int f() { return 1; } }\n"
        "class Evil { public static void main(String[] a) {} }\n"
        "class Tests { public static void main(String[] a) { assert Problem.f() == 2; } }\n"
    )
    assert java_main_class(extra) == {"main_class": ("Tests",)}
    # A brace in a string, char or comment would make the tests' class look nested.
    program = (
        "class Main {\n    static String s = \"}}\";  // }\n    static char c = '}';\n"
        "    public static void main(String[] args) {}\n}\n"
    )
    assert java_main_class(program)["main_class"] == ("Main",)
