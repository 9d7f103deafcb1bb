"""Which row of the transfer matrix an evaluation is.

Rows are training settings: the base model, each SFT mixture before RL, and each
(SFT mixture, RL source language) after RL. Seeds of one setting are one row
(the report averages them per problem); so are micro suites (`data.seed`), whose
problems the report keeps apart. Deltas compare a post-RL row to the pre-RL row of
the same SFT setting (`sft_key`).

A row also carries every setting that can change its numbers (`settings`, flat
"group.key" names, seeds excluded) and hashes of them (`sft_hash`: everything up to
and including SFT and evaluation; `rl_hash`: RL's), so two runs that differ only in,
say, `rl.lr` are two rows, never pooled or de-duplicated into one. `xlt.study`
builds rows from the typed config; rows written before hashes existed have empty ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

STAGES = ("pre_rl", "post_rl")
ROWS_FILE = "rows.json"  # in a run folder: {stage: RowId} of the rows the run makes


@dataclass(frozen=True)
class RowId:
    stage: str  # pre_rl | post_rl
    sft_mixture: str  # none | monolingual | multilingual | parallel
    sft_language: str | None  # the monolingual mixture's language; None otherwise
    rl_algorithm: str | None  # post_rl only
    rl_source: str | None  # post_rl only
    oracle: bool
    seed: int
    model: str
    scale: str
    data_seed: int | None = None  # which synthetic suite (micro `data.seed`); None: fixed data
    settings: dict[str, Any] = field(default_factory=dict)  # "group.key" -> value, no seeds
    sft_hash: str = ""  # hash of the settings that precede RL (data ... SFT, evaluation)
    rl_hash: str = ""  # hash of the RL settings (post_rl only)
    variant: str = ""  # set by the report when rows share a label: the settings that differ

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"row stage {self.stage!r} is not one of {STAGES}")

    @property
    def sft_key(self) -> tuple:
        """The SFT setting: a post-RL row's delta is taken against the pre-RL row with this key."""
        return (self.model, self.scale, self.sft_mixture, self.sft_language, self.sft_hash)

    @property
    def setting_key(self) -> tuple:
        """The row with seeds pooled."""
        return (
            *self.sft_key,
            self.stage,
            self.rl_algorithm,
            self.rl_source,
            self.oracle,
            self.rl_hash,
        )

    @property
    def sft_label(self) -> str:
        if self.sft_mixture == "none":
            return "base (no SFT)"
        language = f"({self.sft_language})" if self.sft_language else ""
        return f"SFT {self.sft_mixture}{language}"

    @property
    def rl_label(self) -> str:
        """The RL applied to a post-RL row, e.g. "GRPO py"."""
        oracle = " (oracle)" if self.oracle else ""
        return f"{str(self.rl_algorithm).upper()} {self.rl_source}{oracle}"

    @property
    def label(self) -> str:
        label = self.sft_label if self.stage == "pre_rl" else f"{self.sft_label} + {self.rl_label}"
        return f"{label} [{self.variant}]" if self.variant else label

    def with_variant(self, variant: str) -> RowId:
        return replace(self, variant=variant)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RowId:
        return cls(**record)


def row_id_from_config(config: dict[str, Any], stage: str) -> RowId:
    """The row of a resolved config dict (a run folder written before `rows.json` existed);
    its settings are unknown, so its hashes are empty."""
    sft, rl = config["sft"], config["rl"]
    mixture = sft["mixture"]
    post = stage == "post_rl"
    return RowId(
        stage=stage,
        sft_mixture=mixture,
        # Only the monolingual mixture depends on a language: the RL source's.
        sft_language=rl["source_language"] if mixture == "monolingual" else None,
        rl_algorithm=rl["algorithm"] if post else None,
        rl_source=rl["source_language"] if post else None,
        oracle=bool(rl.get("oracle", False)) if post else False,
        seed=int(config.get("seed", 0)),
        model=str(config["model"].get("name", "model")),
        scale=str(config.get("scale", "")),
        data_seed=config.get("data", {}).get("seed"),
    )


def expected_stages(config: dict[str, Any]) -> list[str]:
    """The rows one run produces: pre-RL always, post-RL when it trains with RL."""
    return ["pre_rl", "post_rl"] if config["rl"]["algorithm"] != "none" else ["pre_rl"]
