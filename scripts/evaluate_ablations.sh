#!/usr/bin/env bash
# Evaluate the Table 1 ablations trained by scripts/train_ablations.sh (issue 7), on the same
# held-out synthetic pairs (100 per subset, subsets 0, 1, 2) as the demo model's evaluation.
#
#   scripts/evaluate_ablations.sh [RUNS_DIR]     (default runs/ablation; v0 model in runs/v0)
#
# Writes benchmarks/results/eval_ablations.{json,md} (iLAT v0, vanilla AR, Taming*, the v0
# tokenizer's bound, copy), eval_ablation_plain.{json,md} (iLAT* and its tokenizer's bound) and
# docs/eval_ablations_strip.png; docs/results.md puts them in one table.
set -euo pipefail
runs=${1:-runs/ablation}
V0=${V0:-runs/v0}
THREADS=${THREADS:-1}
out=benchmarks/results
ilat-video evaluate --model "$V0" --data synthetic --pairs 100 --seeds 0,1,2 \
  --baseline-model "$runs/vanilla-ar" --method ilat,vanilla,taming-la,reconstruction,copy --threads "$THREADS" \
  --out "$out/eval_ablations.json" --markdown "$out/eval_ablations.md" --strip docs/eval_ablations_strip.png
ilat-video evaluate --model "$runs/plain-transformer" --tokenizer "$runs/plain-tokenizer-stage2" --data synthetic \
  --pairs 100 --seeds 0,1,2 --method ilat,reconstruction --threads "$THREADS" \
  --out "$out/eval_ablation_plain.json" --markdown "$out/eval_ablation_plain.md"
