"""xlt: zero-shot cross-programming-language transfer in code RL (the Parallel-SFT study)."""

__version__ = "0.1.0"
