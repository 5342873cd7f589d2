#!/usr/bin/env bash
# The CPU demo: train the soft-constraint classifier on the demo's pseudo-label pairs (1 epoch), then run
# GRPO on the packaged SmolLM2-135M-Instruct with hard and soft rewards.  Offline; THREADS torch threads (default 1);
# bash's `time` prints each command's wall time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
threads="${THREADS:-1}"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS="$threads"

time ifverify train --config "$here/smollm2_grpo.yaml"
