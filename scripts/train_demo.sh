#!/usr/bin/env bash
# Train the demo model (models/demo) on streamed synthetic people, resumably, on this CPU.
#
#   scripts/train_demo.sh [RUNS_DIR]
#
# Each phase runs for a wall-clock budget and checkpoints; run the script again to continue where
# it stopped (every phase resumes from its latest checkpoint). Budgets are minutes per call:
#   TOK1_MIN (stage 1), TOK2_MIN (stage 2, 512 codes), TOK3_MIN (stage 2 again after growing the
#   codebook to GROW_TO codes: 512 codes of 16 pixels each could not hold the synthetic palette,
#   and growing keeps the trained encoder and decoder), TR_MIN (transformer), DEC_MIN (the decoder
#   alone, retrained with 4 channels per GroupNorm group: the earlier phases' decoder used VQGAN's
#   32 groups, instance norm at our width, and lost colours; the encoder and codebook stay fixed,
#   so the tokens, and the transformer trained on them, stay valid).
# The phases and their settings are the model card's (models/demo/README.md).
set -euo pipefail
runs=${1:-runs/demo}
mkdir -p "$runs"
TOK1_MIN=${TOK1_MIN:-25}
TOK2_MIN=${TOK2_MIN:-15}
TOK3_MIN=${TOK3_MIN:-60}
GROW_TO=${GROW_TO:-4096}
TR_MIN=${TR_MIN:-60}
DEC_MIN=${DEC_MIN:-60}
TOK_PRESET=${TOK_PRESET:-configs/demo-tokenizer.json}
TR_PRESET=${TR_PRESET:-small}
SEED=${SEED:-0}
# One torch thread per process: on 2 shared cores, 2 threads measured 2.7-3.5x slower per step
# (benchmarks/results/train.md); on a quiet or bigger machine raise THREADS.
THREADS=${THREADS:-1}

# --resume when the phase has a checkpoint; a phase whose budget is 0 is skipped.
resume_flag() { if [ -f "$1/checkpoints/latest" ]; then echo --resume; fi; }

# Stage 1: a plain VQGAN (no regions). L1 + codebook terms only: the GAN starts beyond the budget,
# since on this CPU every step is better spent on reconstruction (measured PSNR is what we report).
[ "$TOK1_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset "$TOK_PRESET" --out "$runs/tokenizer-stage1" \
  --stage 1 --steps 100000 --batch-size 8 --lr 3e-4 --gan-start 1000000 --seed "$SEED" --threads "$THREADS" \
  --checkpoint-every 200 --sample-every 500 --max-minutes "$TOK1_MIN" $(resume_flag "$runs/tokenizer-stage1")

# Stage 2: pose regions and free-form masks with Eq. 4 (two-stream encoder), from stage 1's weights.
[ "$TOK2_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset "$TOK_PRESET" --out "$runs/tokenizer-stage2" \
  --stage 2 --init "$runs/tokenizer-stage1" --steps 100000 --batch-size 8 --lr 2e-4 --gan-start 1000000 \
  --seed "$SEED" --threads "$THREADS" --checkpoint-every 200 --sample-every 500 --max-minutes "$TOK2_MIN" \
  $(resume_flag "$runs/tokenizer-stage2")

# Stage 2 with a grown codebook, from stage 2's weights (new codes are restarted onto the data).
tokenizer="$runs/tokenizer-stage2"
if [ "$TOK3_MIN" != 0 ]; then
  [ -d "$runs/tokenizer-grown-init" ] || python scripts/grow_codebook.py "$runs/tokenizer-stage2/model" \
    "$runs/tokenizer-grown-init" --codebook-size "$GROW_TO"
  ilat-video train-tokenizer --data synthetic --preset "$TOK_PRESET" --out "$runs/tokenizer-grown" \
    --stage 2 --init "$runs/tokenizer-grown-init" --steps 100000 --batch-size 8 --lr 2e-4 --gan-start 1000000 \
    --seed "$SEED" --threads "$THREADS" --checkpoint-every 200 --sample-every 500 --max-minutes "$TOK3_MIN" \
    $(resume_flag "$runs/tokenizer-grown")
fi
# The transformer trains on the grown tokenizer whenever there is one (also when TOK3_MIN=0 on a
# later call, so that a resumed transformer keeps its tokenizer).
[ ! -f "$runs/tokenizer-grown/model/config.json" ] || tokenizer="$runs/tokenizer-grown"

# The LA transformer on the frozen final tokenizer.
[ "$TR_MIN" = 0 ] || ilat-video train-transformer --data synthetic --tokenizer "$tokenizer" --preset "$TR_PRESET" \
  --out "$runs/transformer" --steps 60000 --batch-size 16 --lr 5e-4 --warmup-steps 100 --seed "$SEED" --threads "$THREADS" \
  --checkpoint-every 200 --sample-every 1000 --max-minutes "$TR_MIN" $(resume_flag "$runs/transformer")

# The decoder alone, with 4 channels per GroupNorm group, from the final tokenizer. The model is
# then this run's model/ (tokenizer) with the transformer above.
[ "$DEC_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset "$TOK_PRESET" --out "$runs/decoder" \
  --stage 2 --init "$tokenizer" --decoder-only --norm-group-channels 4 --steps 4000 --lr-decay-every 1500 \
  --batch-size 8 --lr 1e-3 --gan-start 1000000 --seed "$SEED" --threads "$THREADS" --checkpoint-every 200 \
  --sample-every 500 --max-minutes "$DEC_MIN" $(resume_flag "$runs/decoder")
