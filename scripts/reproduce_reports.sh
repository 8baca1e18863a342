#!/usr/bin/env bash
# Every run behind the committed reports/, then the report itself. CPU, 2 cores: about 45 minutes.
# Results append to reports/results.csv; cached runs are reused (delete ~/.cache/cdbench to recompute).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/cdbench
[ -x "$B" ] || B=cdbench
# The default model: every method, 10 seeds.
$B run --task induction --method all --seeds 10
# SAE-code options, one at a time against the paper default (10 seeds each).
for opt in positions=last "mse=sum input_scale=unit_msn" n_train_prompts=5 n_train_prompts=50 top_k=3 ensemble=5 tol=1e-4 "lr=1e-2 epochs=100"; do
  sets=""; for o in $opt; do sets="$sets --set $o"; done
  $B run --task induction --method sae_codes --seeds 10 $sets
done
$B run --task induction --method sae_codes --seeds 10 --n-prompts 250   # codes counted over more prompts
# tracr-compiled models: third-party ground truth (auto-circuit's official edges).
$B run --task tracr_reverse --method all --seeds 10
$B run --task tracr_xproportion --method all --seeds 10
# MLP outputs as extra SAE-code nodes, where ground truth names an MLP (xproportion: head 1.0 and m0).
$B run --task tracr_xproportion --method sae_codes --seeds 10 --set mlp_nodes=true
# SmolLM2 (real, pretrained; no ground truth: faithfulness, runtime, agreement). Activation patching and
# ACDC need a forward pass per head / per edge: left to a GPU.
$B run --task ioi --model smollm2-135m --method random,sae_codes,eap,eap_ig,hisp --seeds 2 --n-prompts 60
# sae_codes_selected on SmolLM2 fits 16 SAEs of 2,700 x 576 rows (~10 min on CPU): left to a GPU.
# Random-weight stand-ins for the hub models: plumbing and timing only, their AUCs mean nothing.
$B run --task ioi --model gpt2-random --method random,sae_codes,eap,hisp --seeds 2 --n-prompts 50
$B run --task docstring --model attn-only-4l-random --method random,sae_codes,eap,eap_ig,hisp,activation_patching --seeds 2 --n-prompts 50
$B report
