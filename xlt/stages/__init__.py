"""The study's stages: one module per stage, each exposing a frozen `*Spec` (everything the
stage reads) and `run(ctx: StageContext) -> None`. `xlt.study` builds the specs and wires
the stages into a graph; `xlt.pipeline` caches each stage's artifact by its spec."""
