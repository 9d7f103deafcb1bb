"""Training engine on DeepSpeed: pretraining and SFT, ZeRO 0-3, exact resume (docs/training.md).

- `engine`: `ParallelPlan` -> DeepSpeed config, `setup_engine`, `optimizer_step`
- `checkpoint`: `save_checkpoint`, `load_latest_checkpoint`, RNG-state helpers
- `data`: pretrain packing, SFT examples with completion-only labels, `DataOrder`
- `config`: `TrainConfig` (the loop's settings), `PretrainConfig`, `SFTConfig`, `ParallelPlan`
- `loop`: `CausalLMTrainer`, `train_and_export`
"""
