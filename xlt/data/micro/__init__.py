"""The micro world: a seeded suite of small typed functions, rendered in several languages.

- `programs`: the language-independent programs (primitives, compositions, meaning, description).
- `render/`: one module per language (MultiPL-E-style prompt, solution, tests, stop tokens).
- `suite`: sampling, splits by composition, test cases, `Problem` records.
- `corpus`: the pretraining corpus with common and rare languages.

    from xlt.data.micro import build_suite, render_problem
    suite = build_suite(num_tasks=600, split_fractions=(0.6, 0.2, 0.2), seed=0)
    problem = render_problem(suite.split("eval")[0], "lua")
"""

from xlt.data.micro.render import SYNTAXES
from xlt.data.micro.suite import MicroSuite, MicroTask, build_suite, function_text, render_problem

MICRO_LANGUAGES: tuple[str, ...] = tuple(SYNTAXES)

__all__ = [
    "MICRO_LANGUAGES",
    "MicroSuite",
    "MicroTask",
    "build_suite",
    "function_text",
    "render_problem",
]
