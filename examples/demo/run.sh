#!/usr/bin/env bash
# The CPU demo: GRPO on the packaged SmolLM2-135M-Instruct, rewarded by the hard checkers and the packaged soft
# verifier.  Offline; THREADS torch threads (default 1); bash's `time` prints the command's wall time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
threads="${THREADS:-1}"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS="$threads"

time ifverify train --config "$here/smollm2_grpo.yaml"
