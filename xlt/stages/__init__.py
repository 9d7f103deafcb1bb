"""The study's stages: one module per stage, each exposing `run(ctx: StageContext) -> None`.

A stage whose capability has not landed yet has no module; `load_stage` then
says so by name instead of letting a run pretend.
"""

from __future__ import annotations

import importlib

from xlt.pipeline import StageFn

# stage name -> module that implements it.
STAGE_MODULES: dict[str, str] = {
    "data": "xlt.stages.data",  # micro suite, corpus, problems
    "data_paper": "xlt.stages.data_paper",  # CodeForces problems, parallel programs
    "mixture": "xlt.stages.mixture",  # the SFT mixture (monolingual / multilingual / parallel)
    "pretrain": "xlt.stages.pretrain",
    "sft": "xlt.stages.sft",
    "rl": "xlt.stages.rl",
    "evaluate": "xlt.stages.evaluate",
    "analyze": "xlt.stages.analyze",
}


class StageUnavailable(RuntimeError):
    """A stage the run needs has no implementation in this checkout."""


def load_stage(name: str) -> StageFn:
    if name not in STAGE_MODULES:
        raise KeyError(f"unknown stage {name!r}; known: {sorted(STAGE_MODULES)}")
    module_name = STAGE_MODULES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the stage exists but something it imports is missing: a real bug
        raise StageUnavailable(
            f"stage {name!r} is not available yet: {module_name} does not exist in this checkout"
        ) from None
    return module.run
