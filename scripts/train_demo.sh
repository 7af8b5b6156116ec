#!/usr/bin/env bash
# Train the demo model (models/demo, v10) on streamed synthetic people, resumably, on this CPU.
#
#   scripts/train_demo.sh [RUNS_DIR]
#
# Eleven phases, each with a wall-clock budget (minutes per call) and checkpoints; run the script
# again to continue where a phase stopped (every phase resumes from its latest checkpoint; a budget
# of 0 skips the phase):
#   TOK_MIN  the tokenizer from scratch (configs/demo-tokenizer-linear.json: a linear patch path
#            beside the deep encoder and decoder, which is what lets its codes carry colour), up
#            to TOK_STEPS steps; then it is frozen.
#   TR_MIN   the LA transformer with pose maps (--pose-map), from scratch on the frozen tokenizer's
#            tokens, with a linear LR decay to 0 at TR_STEPS.
#   DEC_MIN  the decoder alone, from the frozen tokenizer: the encoder and codebook stay fixed, so
#            the tokens, and the transformer trained on them, stay valid.
#   FT_MIN   phase 2's transformer trained on for FT_STEPS steps with a fresh warmup and decay.
#   EXP_MIN  phase 4's transformer trained on for EXP_STEPS steps with the expected-code loss
#            (--expected-weight 100: not in the paper), then
#   EXP2_MIN for EXP2_STOP more steps at weight 400 (its LR decays to 0 at EXP2_STEPS), then
#   EXP3_MIN for EXP3_STOP more at weight 1000 (decay to 0 at EXP3_STEPS), then
#   EXP4_MIN for EXP4_STEPS more at weight 1000 with a fresh warmup and decay, then
#   EXP5_MIN for EXP5_STEPS more at weight 1000 with a fresh warmup and decay.
#   SDEC_MIN phase 3's decoder trained on for SDEC_STOP steps (LR halved at 1000), also on what
#            phase 8's transformer samples (--sampled-from: the frames of its expected codes and of
#            its tokens against the targets; not in the paper). Encoder and codebook stay fixed:
#            the same tokens.
#   SDEC2_MIN phase 10's decoder trained on for SDEC2_STOP more steps (LR 5e-5, halved every 1000)
#            the same way, on what phase 9's transformer samples.
# TR and DEC both start from the frozen tokenizer and do not depend on each other: on two cores
# run them side by side (`TOK_MIN=0 DEC_MIN=0 scripts/train_demo.sh &` and
# `TOK_MIN=0 TR_MIN=0 scripts/train_demo.sh`), which is how the shipped weights were made.
# Phases 9 and 10 both start from phase 8's transformer and can run side by side like 2 and 3.
# The model is then $RUNS_DIR/sampled-decoder2/model (tokenizer) with $RUNS_DIR/expected5/model
# (transformer).
# The phases and their settings are the model card's (models/demo/README.md).
set -euo pipefail
runs=${1:-runs/demo}
mkdir -p "$runs"
TOK_MIN=${TOK_MIN:-45}
TOK_STEPS=${TOK_STEPS:-3250}
TR_MIN=${TR_MIN:-180}
TR_STEPS=${TR_STEPS:-2800}
DEC_MIN=${DEC_MIN:-80}
DEC_STEPS=${DEC_STEPS:-6000}
FT_MIN=${FT_MIN:-75}
FT_STEPS=${FT_STEPS:-2000}
EXP_MIN=${EXP_MIN:-45}
EXP_STEPS=${EXP_STEPS:-800}
EXP2_MIN=${EXP2_MIN:-45}
EXP2_STEPS=${EXP2_STEPS:-1400}
EXP2_STOP=${EXP2_STOP:-1360}  # the shipped run's budget ended there; its LR schedule runs to EXP2_STEPS
EXP3_MIN=${EXP3_MIN:-30}
EXP3_STEPS=${EXP3_STEPS:-900}
EXP3_STOP=${EXP3_STOP:-852}
EXP4_MIN=${EXP4_MIN:-110}
EXP4_STEPS=${EXP4_STEPS:-3000}
EXP5_MIN=${EXP5_MIN:-90}
EXP5_STEPS=${EXP5_STEPS:-1600}
SDEC_MIN=${SDEC_MIN:-85}
SDEC_STEPS=${SDEC_STEPS:-2000}
SDEC_STOP=${SDEC_STOP:-1955}  # the shipped run's budget ended there
SDEC2_MIN=${SDEC2_MIN:-95}
SDEC2_STEPS=${SDEC2_STEPS:-3000}
SDEC2_STOP=${SDEC2_STOP:-1966}  # the shipped run's budget ended there
# One torch thread per process: with the other core busy, 2 threads measured 2.7-3.5x slower per
# step (benchmarks/results/train.md). Alone on the 2 cores, 2 threads ran v3's transformer 1.8x
# faster (0.55 against 0.31 steps/s): raise THREADS for a phase that runs by itself.
THREADS=${THREADS:-1}
# bf16 autocast on the CPU: 1.5-1.8x per step on CPUs with native bf16
# (benchmarks/results/cpu_bf16.md); set BF16= to train in fp32.
BF16=${BF16---cpu-bf16}

# --resume when the phase has a checkpoint.
resume_flag() { if [ -f "$1/checkpoints/latest" ]; then echo --resume; fi; }

# 1. The tokenizer from scratch, stage 2 (pose regions + free-form masks, Eq. 4, two-stream encoder)
#    from step 0. L1 + codebook terms only: the GAN starts beyond the budget, since on this CPU
#    every step is better spent on reconstruction (measured PSNR is what we report).
[ "$TOK_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset configs/demo-tokenizer-linear.json \
  --out "$runs/tokenizer" --stage 2 --steps 9000 --lr-decay-every 2500 --batch-size 8 --lr 6e-4 \
  --gan-start 1000000 --seed 6 --threads "$THREADS" $BF16 --checkpoint-every 250 --sample-every 1000 \
  --stop-at "$TOK_STEPS" --max-minutes "$TOK_MIN" $(resume_flag "$runs/tokenizer")

# 2. The LA transformer with pose maps, from scratch on the frozen tokenizer.
[ "$TR_MIN" = 0 ] || ilat-video train-transformer --data synthetic --tokenizer "$runs/tokenizer" --preset small \
  --pose-map --out "$runs/transformer" --steps "$TR_STEPS" --batch-size 16 --lr 5e-4 --warmup-steps 100 --seed 0 \
  --threads "$THREADS" $BF16 --checkpoint-every 100 --sample-every 0 --max-minutes "$TR_MIN" \
  $(resume_flag "$runs/transformer")

# 3. The decoder alone, from the frozen tokenizer.
[ "$DEC_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset configs/demo-tokenizer-linear.json \
  --out "$runs/decoder" --stage 2 --init "$runs/tokenizer" --decoder-only --steps "$DEC_STEPS" \
  --lr-decay-every 1500 --batch-size 8 --lr 3e-4 --gan-start 1000000 --seed 7 --threads "$THREADS" $BF16 \
  --checkpoint-every 250 --sample-every 1000 --max-minutes "$DEC_MIN" $(resume_flag "$runs/decoder")

# 4. Phase 2's transformer trained on with a fresh warmup and decay (same frozen tokenizer), once
#    phase 2 has reached its last step (its newest checkpoint is step TR_STEPS): started from an
#    unfinished phase 2 it would warm-start from whatever weights that run had last saved.
# Whether the run in $1 has reached step $2 (its newest checkpoint is that step).
phase_done() { [ "$(cat "$1/checkpoints/latest" 2>/dev/null)" = "$(printf 'step-%08d' "$2")" ]; }
if [ "$FT_MIN" != 0 ] && ! phase_done "$runs/transformer" "$TR_STEPS"; then
  echo "phase 4 skipped: phase 2 ($runs/transformer) has not reached step $TR_STEPS yet; run this script again when it has" >&2
  FT_MIN=0
fi
[ "$FT_MIN" = 0 ] || ilat-video train-transformer --data synthetic --tokenizer "$runs/tokenizer" --preset small \
  --init "$runs/transformer/model" --pose-map --out "$runs/finetune" --steps "$FT_STEPS" --batch-size 16 --lr 2e-4 \
  --warmup-steps 50 --seed 11 --threads "$THREADS" $BF16 --checkpoint-every 100 --sample-every 0 \
  --max-minutes "$FT_MIN" $(resume_flag "$runs/finetune")

# 5.-8. Phase 4's transformer trained on with the expected-code loss, at weight 100, then 400, then
#    1000 twice, each phase from the one before it once that one has reached its last step.
# expected_phase N BUDGET PREV_RUN PREV_LAST OUT STEPS STOP WEIGHT SEED: STEPS is where the LR decay
# ends, STOP where the shipped run's budget ended (the same step when it ran to the end).
expected_phase() {
  local n=$1 budget=$2 prev=$3 prev_last=$4 out=$5 steps=$6 stop=$7 weight=$8 seed=$9
  [ "$budget" = 0 ] && return 0
  if ! phase_done "$prev" "$prev_last"; then
    echo "phase $n skipped: $prev has not reached step $prev_last yet" >&2
    return 0
  fi
  ilat-video train-transformer --data synthetic --tokenizer "$runs/tokenizer" --preset small \
    --init "$prev/model" --pose-map --out "$out" --steps "$steps" --batch-size 16 --lr 1e-4 \
    --warmup-steps 50 --seed "$seed" --expected-weight "$weight" --threads "$THREADS" $BF16 \
    --checkpoint-every 100 --sample-every 0 --stop-at "$stop" --max-minutes "$budget" $(resume_flag "$out")
}
expected_phase 5 "$EXP_MIN" "$runs/finetune" "$FT_STEPS" "$runs/expected" "$EXP_STEPS" "$EXP_STEPS" 100 12
expected_phase 6 "$EXP2_MIN" "$runs/expected" "$EXP_STEPS" "$runs/expected2" "$EXP2_STEPS" "$EXP2_STOP" 400 13
expected_phase 7 "$EXP3_MIN" "$runs/expected2" "$EXP2_STOP" "$runs/expected3" "$EXP3_STEPS" "$EXP3_STOP" 1000 14
expected_phase 8 "$EXP4_MIN" "$runs/expected3" "$EXP3_STOP" "$runs/expected4" "$EXP4_STEPS" "$EXP4_STEPS" 1000 15
expected_phase 9 "$EXP5_MIN" "$runs/expected4" "$EXP4_STEPS" "$runs/expected5" "$EXP5_STEPS" "$EXP5_STEPS" 1000 16

# 10. Phase 3's decoder trained on, also on phase 8's transformer's samples, once phase 8 is done.
if [ "$SDEC_MIN" != 0 ] && ! { phase_done "$runs/expected4" "$EXP4_STEPS" && phase_done "$runs/decoder" "$DEC_STEPS"; }; then
  echo "phase 10 skipped: phase 8 ($runs/expected4) or phase 3 ($runs/decoder) is not done yet" >&2
  SDEC_MIN=0
fi
[ "$SDEC_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset configs/demo-tokenizer-linear.json \
  --out "$runs/sampled-decoder" --stage 2 --init "$runs/decoder/model" --decoder-only \
  --sampled-from "$runs/expected4/model" --sampled-weight 100 --steps "$SDEC_STEPS" --stop-at "$SDEC_STOP" --lr-decay-every 1000 \
  --batch-size 16 --lr 1e-4 --gan-start 1000000 --seed 17 --threads "$THREADS" $BF16 --checkpoint-every 100 \
  --sample-every 0 --max-minutes "$SDEC_MIN" $(resume_flag "$runs/sampled-decoder")

# 11. Phase 10's decoder trained on, on phase 9's transformer's samples, once both are done.
if [ "$SDEC2_MIN" != 0 ] && ! { phase_done "$runs/expected5" "$EXP5_STEPS" && phase_done "$runs/sampled-decoder" "$SDEC_STOP"; }; then
  echo "phase 11 skipped: phase 9 ($runs/expected5) or phase 10 ($runs/sampled-decoder) is not done yet" >&2
  SDEC2_MIN=0
fi
[ "$SDEC2_MIN" = 0 ] || ilat-video train-tokenizer --data synthetic --preset configs/demo-tokenizer-linear.json \
  --out "$runs/sampled-decoder2" --stage 2 --init "$runs/sampled-decoder/model" --decoder-only \
  --sampled-from "$runs/expected5/model" --sampled-weight 100 --steps "$SDEC2_STEPS" --stop-at "$SDEC2_STOP" \
  --lr-decay-every 1000 --batch-size 16 --lr 5e-5 --gan-start 1000000 --seed 18 --threads "$THREADS" $BF16 \
  --checkpoint-every 100 --sample-every 0 --max-minutes "$SDEC2_MIN" $(resume_flag "$runs/sampled-decoder2")
