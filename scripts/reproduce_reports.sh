#!/usr/bin/env bash
# Every run behind the committed reports/, then the timings and the report. CPU, 2 cores: about 1.5 hours
# (subnetwork probing, ACDC and UGS dominate). Results append to reports/results.csv; cached runs are reused
# (point CDBENCH_CACHE at an empty directory to recompute everything).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/cdbench
[ -x "$B" ] || B=cdbench
FAST=random,sae_codes,sae_codes_fast,eap,eap_ig,hisp,activation_patching
ALL=planted,tracr_reverse,tracr_xproportion,induction
# planted-induction scores against siit.v2 by default and the report shows it on siit.v1 too, so each line on
# the planted suite runs once more there (same method scores; the cache key differs by ground truth).
planted() { $B run --task planted "$@"; $B run --task planted_induction --gt-version siit.v1 "$@"; }
every() { $B run --task $ALL "$@"; $B run --task planted_induction --gt-version siit.v1 "$@"; }
# 1. The default benchmark (scripts/install_and_run.sh), then SP on one seed: the planted-suite table.
planted --method $FAST --seeds 5
planted --method sae_codes_selected --seeds 2
planted --method acdc --seeds 1
planted --method sp --seeds 1
# 2. Offline third-party and embedded ground truth: tracr-compiled models and induction-2l.
$B run --task tracr_reverse,tracr_xproportion,induction --method $FAST,acdc --seeds 3
# 3. SAE-code variants against the released recipe, each with its null control, on every offline task with
#    ground truth; and the released recipe over the paper's 250 + 250 prompts.
for opt in arch=cdbench_v1 positions=last "mse=sum input_scale=unit_msn" top_k=3; do
  sets=""; for o in $opt; do sets="$sets --set $o"; done
  every --method sae_codes --seeds 3 $sets
done
every --method sae_codes --seeds 3 --n-prompts 250
# 4. Method options beside the papers' settings.
planted --method hisp --seeds 5 --set normalize=none
planted --method eap_ig --seeds 5 --set grid=endpoint
# 4b. The methods MIB ranks beside EAP, and CD-T (issue 23), on every offline task with ground truth.
every --method eap_ig_activations,ifr --seeds 5
$B run --task tracr_reverse,tracr_xproportion --method cdt --seeds 5
planted --method cdt --seeds 5
# 4c. UGS at MIB's 1,900 steps (by the report's medians on one core: 18 s-7 min a run on the small models, 8-13 min on the 32-head ones).
$B run --task tracr_reverse,tracr_xproportion,induction --method ugs --seeds 3
planted --method ugs --seeds 5
planted --method eap --seeds 5 --set ablation=mean
# 5. SmolLM2 (real, pretrained; no ground truth: faithfulness, runtime, agreement). ACDC, SP and activation
#    patching need a pass per edge / per head, and the edge-level faithfulness curve costs minutes a run on
#    2 cores: EAP and the rest are left to a GPU.
$B run --task ioi --model smollm2-135m --method random,sae_codes --seeds 1 --n-prompts 40
# 6. Random-weight stand-ins for the hub models: plumbing and timing only, their AUCs mean nothing.
$B run --task docstring --model attn-only-4l-random --method random,sae_codes,eap,hisp --seeds 1 --n-prompts 40
$B run --task ioi --model gpt2-random --preset paper --seeds 1 --n-prompts 40
# 7. Timings (pytest-benchmark, one run), then the report.
.venv/bin/python -m pytest --benchmark-only -m "slow or not slow" -k "not paper_scale" --benchmark-json reports/benchmark.json -q
CDBENCH_PATCH_PAIRS=250 .venv/bin/python -m pytest --benchmark-only -m "slow or not slow" -k paper_scale --benchmark-json reports/benchmark-paper-scale.json -q
$B report
