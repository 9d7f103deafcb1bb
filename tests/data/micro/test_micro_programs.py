"""The program space: well-typed, uniquely named, meaning and description agree."""

from collections import Counter

import pytest

from xlt.data.micro.programs import DOMAINS, OPS, REDUCERS, Op, Program, enumerate_programs

SPACE = list(enumerate_programs())


def test_names_are_unique_identifiers():
    names = [p.name for p in SPACE]
    assert len(set(names)) == len(names)
    assert all(name.isidentifier() and name.islower() for name in names)


def test_every_reducer_domain_and_primitive_is_used():
    families = Counter(p.family for p in SPACE)
    expected = {f"{d}/{r}" for r, (domains, _, _) in REDUCERS.items() for d in domains}
    assert set(families) == expected
    used = {op.kind for p in SPACE for op in ((p.pred,) if p.pred else ()) + p.maps}
    assert used == set(OPS)


@pytest.mark.parametrize(
    ("program", "arg", "expected"),
    [
        (Program("ints", "sum", Op("even"), (Op("mul", 3),)), [1, 2, 4, -2], 12),
        (Program("ints", "list", Op("gt", 2), (Op("neg"),)), [1, 3, 5], [-3, -5]),
        (Program("ints", "all", Op("odd")), [], True),
        (Program("ints", "count", Op("div", 3)), [3, -3, 4, 0], 3),
        (Program("chars", "join", Op("vowel"), (Op("upper"),)), "banana1", "AAA"),
        (Program("chars", "any", Op("digit")), "ab7", True),
        (Program("strs", "sum", Op("len_lt", 3), (Op("len"),)), ["a", "hi", "cat"], 3),
        (Program("strs", "join", None, (Op("exclaim"),)), ["a", "b"], "a!b!"),
        (Program("int", "value", None, (Op("add", 2), Op("square"))), 3, 25),
        (Program("int", "test", Op("lt", 0)), -1, True),
    ],
)
def test_reference_semantics(program, arg, expected):
    assert program(arg) == expected


def test_descriptions_name_the_primitives():
    program = Program("ints", "sum", Op("gt", 4), (Op("mul", 3),))
    assert program.description() == (
        "Return the sum of the numbers in xs that are greater than 4, each times 3."
    )
    for p in SPACE:
        text = p.description()
        assert text.startswith("Return ") and text.endswith(".")
        for op in ((p.pred,) if p.pred else ()) + p.maps:
            if op.kind != "len":  # "total length" replaces the map's phrase
                assert op.phrase in text, (p.name, text)


def test_no_identity_programs_and_types_fit():
    for p in SPACE:
        assert not (p.reducer == "list" and p.pred is None and not p.maps)
        if p.reducer == "sum":
            assert p.item_type == "int"
        assert p.dom.param_type == DOMAINS[p.domain].param_type
