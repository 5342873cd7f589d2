#!/usr/bin/env bash
# Make the OpenRLHF test environment, .venvs/openrlhf (or the folder given as $1), on a CPU machine.
#
#   bash scripts/setup_openrlhf_env.sh && .venvs/openrlhf/bin/python -m pytest -q \
#       tests/backends/test_openrlhf.py --backend-env openrlhf
#
# OpenRLHF itself needs CUDA (Ray, vLLM, DeepSpeed, flash-attn), but its reward-file loader
# (openrlhf.utils.agent) runs on a CPU with only torch, transformers, aiohttp and pylatexenc. This
# environment holds exactly that, so the tests drive our reward file through OpenRLHF's own loader. For
# real training, install `pip install -e ".[openrlhf]"` on a CUDA machine instead (docs/backends/openrlhf.md).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venvs/openrlhf}"
python -m venv "$venv"
pip_install() { "$venv/bin/python" -m pip install --disable-pip-version-check "$@"; }

# torch first, CPU build (see scripts/setup.sh for TORCH_INDEX_URL).
pip_install torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
# ifverify (core), the transformers release OpenRLHF 0.11.2 pins, what its loader imports, and pytest.
pip_install -e . transformers==5.15.0 aiohttp pylatexenc "pytest>=8"
# OpenRLHF last and without its dependencies (they are the CUDA stack), so that no later install re-checks it.
pip_install --no-deps openrlhf==0.11.2
