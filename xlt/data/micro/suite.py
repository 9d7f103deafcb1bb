"""The micro suite: a seeded sample of programs, split by composition, with tests, in every language.

    suite = build_suite(num_tasks=600, split_fractions=(0.6, 0.2, 0.2), seed=0)
    problems = [render_problem(task, "lua") for task in suite.split("eval")]

- A task is one composition (`Program`); its id (`Problem.task`) is the same in
  every language. Splits partition compositions, so a train, RL and eval task
  never share a program; each split gets every family (domain x reducer) in
  proportion, and the space's smallest families are taken whole.
- Test cases come from the reference semantics (`Program.__call__`), drawn from
  a generator seeded by (seed, task): a task's tests do not depend on which
  other tasks were sampled. They are redrawn until they tell the program apart
  from a near miss (`mutant`: one primitive changed), from the program without
  its predicate or map, and from a function that returns the type's empty
  value. The mutant, rendered under the task's name, is the deliberately wrong
  solution (`Problem.meta["wrong_solution"]`).
- `suite.spare` holds the compositions no split took; the pretraining corpus
  may use them (they are never trained, rewarded or evaluated on).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from xlt.data.micro.programs import (
    BOOL,
    CHAR,
    DOMAINS,
    INT,
    REDUCERS,
    STR,
    Program,
    enumerate_programs,
)
from xlt.data.micro.render import SYNTAXES, signature, solution
from xlt.data.micro.render.base import Case
from xlt.data.records import Problem

SPLITS = ("train", "rl", "eval")
LETTERS, DIGITS = "abcdeikmnorstu", "0123456789"
WORDS = (
    "a", "hi", "go", "ox", "cat", "dog", "sun", "fig", "sky", "tree", "bird", "kiwi",
    "moon", "star", "plum", "apple", "lemon", "grape", "banana", "orange", "cherry",
)  # fmt: skip
_MAX_DRAWS = 200


@dataclass(frozen=True)
class MicroTask:
    program: Program
    split: str
    cases: tuple[Case, ...]  # (argument, expected)
    mutant: Program  # the near miss the tests must reject
    examples: tuple[Case, ...] = ()  # shown in the prompt's doc comment

    @property
    def task_id(self) -> str:
        return f"micro/{self.program.name}"


@dataclass(frozen=True)
class MicroSuite:
    tasks: tuple[MicroTask, ...]
    spare: tuple[Program, ...]  # compositions outside every split
    seed: int

    def split(self, name: str) -> list[MicroTask]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; use one of {SPLITS}")
        return [task for task in self.tasks if task.split == name]


def build_suite(
    num_tasks: int,
    split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    *,
    num_tests: int = 5,
    num_examples: int = 0,
) -> MicroSuite:
    """Sample `num_tasks` compositions (balanced over families), split them, draw their tests."""
    if len(split_fractions) != 3 or abs(sum(split_fractions) - 1) > 1e-6:
        raise ValueError(f"split_fractions={list(split_fractions)} must be 3 numbers summing to 1")
    if num_tests < 2:
        raise ValueError(f"num_tests={num_tests} must be >= 2 to tell a program from a near miss")
    space = list(enumerate_programs())
    if not 3 <= num_tasks <= len(space):
        raise ValueError(f"num_tasks={num_tasks} must be between 3 and the space's {len(space)}")
    by_family: dict[str, list[Program]] = defaultdict(list)
    for program in space:
        by_family[program.family].append(program)

    rng = random.Random(seed)
    quotas = _quotas({family: len(ps) for family, ps in by_family.items()}, num_tasks)
    assigned: dict[Program, str] = {}
    for family in sorted(by_family):
        members = sorted(by_family[family], key=lambda p: p.name)
        rng.shuffle(members)
        picked = members[: quotas[family]]
        assigned.update(zip(picked, _assign_splits(len(picked), split_fractions), strict=True))
    _cover_primitives(assigned)
    tasks = [
        _make_task(program, split, by_family[program.family], seed, num_tests, num_examples)
        for program, split in assigned.items()
    ]
    spare = tuple(p for p in space if p not in assigned)
    return MicroSuite(tuple(sorted(tasks, key=lambda t: t.program.name)), spare, seed)


def _quotas(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Water-filling: every family gets an equal share, small families are taken whole."""
    quotas, left = {}, total
    ordered = sorted(sizes, key=lambda f: (sizes[f], f))
    for i, family in enumerate(ordered):
        share = left // (len(ordered) - i)
        quotas[family] = min(sizes[family], share)
        left -= quotas[family]
    for family in reversed(ordered):  # hand out the rounding remainder to families with room
        extra = min(left, sizes[family] - quotas[family])
        quotas[family] += extra
        left -= extra
    return quotas


def _cover_primitives(assigned: dict[Program, str]) -> None:
    """Swap splits so that every primitive (with its argument) of an RL or eval task is in
    some train task: held-out compositions are new combinations of known parts.

    An uncovered task trades places with a train task of its family whose primitives all
    stay covered without it; failing that, it moves to train."""
    seen = Counter(
        prim for p, split in assigned.items() if split == "train" for prim in p.primitives
    )
    for program in sorted(assigned, key=lambda p: p.name):
        split = assigned[program]
        if split == "train" or all(seen[prim] for prim in program.primitives):
            continue
        donors = [
            p for p in sorted(assigned, key=lambda p: p.name)
            if assigned[p] == "train" and p.family == program.family
            and all(seen[prim] > 1 for prim in p.primitives)
        ]  # fmt: skip
        assigned[program] = "train"
        seen.update(program.primitives)
        if donors:
            assigned[donors[0]] = split
            seen.subtract(donors[0].primitives)


def _assign_splits(n: int, fractions: Sequence[float]) -> list[str]:
    """Largest-remainder rounding of n * fractions, in split order."""
    raw = [n * f for f in fractions]
    counts = [int(r) for r in raw]
    by_remainder = sorted(range(3), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return [split for split, count in zip(SPLITS, counts, strict=True) for _ in range(count)]


# ---------------------------------------------------------------------------- tests


def _make_task(
    program: Program,
    split: str,
    family: list[Program],
    seed: int,
    num_tests: int,
    num_examples: int,
) -> MicroTask:
    rng = random.Random(f"{seed}:{program.name}")
    mutants = sorted((p for p in family if _one_apart(program, p)), key=lambda p: p.name)
    rng.shuffle(mutants)
    for mutant in mutants:
        rivals = [mutant, *_ablations(program)]
        for _ in range(_MAX_DRAWS):
            cases = _draw_cases(program, rng, num_tests)
            if _discriminating(program, cases, rivals):
                examples = _draw_examples(program, rng, num_examples)
                return MicroTask(program, split, cases, mutant, examples)
    raise AssertionError(f"no discriminating tests for {program.name}")


def _one_apart(program: Program, other: Program) -> bool:
    """Same return type, exactly one primitive changed, added or removed."""
    if other == program or other.return_type != program.return_type:
        return False
    if other.pred != program.pred:
        return other.maps == program.maps
    if len(other.maps) == len(program.maps):
        return sum(a != b for a, b in zip(program.maps, other.maps, strict=True)) == 1
    shorter, longer = sorted((program.maps, other.maps), key=len)
    return len(longer) == len(shorter) + 1 and any(
        longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer))
    )


def _ablations(program: Program) -> list[Program]:
    """The program without its predicate, or without its map, where that still computes the type."""
    candidates = []
    if program.pred and REDUCERS[program.reducer][1] == "optional":
        candidates.append(Program(program.domain, program.reducer, None, program.maps))
    if len(program.maps) == 1 and program.reducer != "value":
        candidates.append(Program(program.domain, program.reducer, program.pred, ()))
    return [p for p in candidates if p.return_type == program.return_type and _computable(p)]


def _computable(program: Program) -> bool:
    if program.reducer == "sum":
        return program.item_type == INT
    if program.reducer == "join":
        return program.item_type in (STR, CHAR)
    return True


def _draw_cases(program: Program, rng: random.Random, n: int) -> tuple[Case, ...]:
    dom = DOMAINS[program.domain]
    args: list[Any] = [] if program.domain == "int" else [_empty(dom.param_type)]
    while len(args) < n:
        args.append(_draw_input(program.domain, rng))
    return tuple((arg, program(arg)) for arg in args[:n])


def _draw_examples(program: Program, rng: random.Random, n: int) -> tuple[Case, ...]:
    """Doc-comment examples worth reading: non-empty answers, all different."""
    examples: list[Case] = []
    for _ in range(_MAX_DRAWS):
        if len(examples) == n:
            break
        arg = _draw_input(program.domain, rng)
        out = program(arg)
        informative = out != _empty(program.return_type) or program.return_type == BOOL
        if informative and all(out != seen for _, seen in examples):
            examples.append((arg, out))
    return tuple(examples)


def _draw_input(domain: str, rng: random.Random) -> Any:
    if domain == "int":
        return rng.randint(-6, 12)
    if domain == "ints":
        return [rng.randint(-4, 12) for _ in range(rng.randint(1, 6))]
    if domain == "chars":
        return "".join(
            rng.choice(DIGITS if rng.random() < 0.3 else LETTERS) for _ in range(rng.randint(1, 7))
        )
    return [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]


def _empty(micro_type: str) -> Any:
    return {"int": 0, "bool": False, "str": ""}.get(micro_type, [])


def _discriminating(program: Program, cases: Sequence[Case], rivals: Iterable[Program]) -> bool:
    outputs = [expected for _, expected in cases]
    if all(out == _empty(program.return_type) for out in outputs):
        return False  # a function returning the empty value would pass
    if program.return_type == BOOL and len(set(outputs)) < 2:
        return False  # a constant would pass
    return all(any(rival(arg) != expected for arg, expected in cases) for rival in rivals)


# ---------------------------------------------------------------------------- records


def render_problem(task: MicroTask, language: str) -> Problem:
    """The task in one language, as a MultiPL-E-style `Problem` with its canonical solution."""
    if language not in SYNTAXES:
        raise ValueError(
            f"the micro suite has no renderer for {language!r}; it has {sorted(SYNTAXES)}"
        )
    syntax = SYNTAXES[language]
    sig = signature(task.program, examples=task.examples)
    return Problem(
        name=f"micro_{task.program.name}",
        task=task.task_id,
        language=language,
        prompt=syntax.prompt(sig, syntax),
        tests=syntax.tests(sig, task.cases, syntax),
        stop_tokens=syntax.stop_tokens,
        solution=solution(task.program, syntax),
        description=task.program.description(),
        meta={
            "split": task.split,
            "family": task.program.family,
            "wrong_solution": solution(task.mutant, syntax),
        },
    )


def function_text(program: Program, language: str) -> str:
    """A standalone function (prompt + solution, closed): a corpus document or a parallel program."""
    syntax = SYNTAXES[language]
    sig = signature(program)
    return syntax.prompt(sig, syntax) + solution(program, syntax) + syntax.closing
