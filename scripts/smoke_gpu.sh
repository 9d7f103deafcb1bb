#!/usr/bin/env bash
# Device smoke run on a lent GPU machine (one H100, no network, torch + transformers only):
# install the wheels carried in .whl/ into /tmp/site, then scripts/smoke_gpu.py (~0.5B Llama:
# 10 ZeRO-3 bf16 SFT steps, 2 GRPO steps) and the gpu-marked tests. Logs go to ${OUT:-/tmp}.
#   bash scripts/smoke_gpu.sh            # from the repository root, .whl/ beside it
# The wheels: see docs/training.md, "Device smoke run" (DeepSpeed built with DS_BUILD_OPS=0).
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS="${OUT:-/tmp}"
mkdir -p "$LOGS"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl 2>&1 | tail -3
export PYTHONPATH=/tmp/site:$PWD
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$LOGS/gpu.txt"

start=$(date +%s)
python3 scripts/smoke_gpu.py 2>&1 | tee "$LOGS/smoke_gpu.log"
smoke=${PIPESTATUS[0]}
echo "smoke_gpu.py: exit $smoke after $(( $(date +%s) - start )) s"

start=$(date +%s)
# named files: collecting all of tests/ would import packages this machine lacks (wandb, datasets)
python3 -m pytest -m gpu -p no:cacheprovider -q -s tests/train/test_gpu.py \
    tests/generation/test_vllm.py 2>&1 | tee "$LOGS/pytest_gpu.log"
tests=${PIPESTATUS[0]}
echo "pytest -m gpu: exit $tests after $(( $(date +%s) - start )) s"
exit $(( smoke || tests ))
