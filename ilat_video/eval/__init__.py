"""Evaluation on pairs with ground truth: the paper's Table 1 (quality) and Table 2 (time).

For every test pair (reference, target pose, ground-truth target frame of the same video) a method
makes the target from the reference and the target pose, and the result is compared with the
ground truth:

    subsets = pair_subsets("synthetic", size=64, count=100, seeds=(0, 1, 2))
    result = evaluate_model("models/demo", subsets, method="ilat")
    result.summary()["region"]["psnr"]   # {"mean": ..., "std": ...} over the subsets

The rooms: `methods` (how each method makes a frame), `metrics` (PSNR, SSIM, MAE, Frechet
distance), `pairs` (the fixed test pairs), `run` (one method over the pairs, timed), `results`
(per-subset and per-method results, paired differences, JSON and markdown), `strips` (picture
strips), `inception` (Inception-v3 features for FID, from local weights only).

Per pair, each metric over the whole frame ("frame"), inside the pair's pixel region ("region") and
outside it ("outside"), then averaged over a subset's pairs (a pair with no region pixel is left
out of that scope's mean); `summary()` gives the mean and the sample standard deviation (ddof 1)
over the subsets.

Seconds per frame: the wall time of encoding, sampling and decoding (not of the metrics) divided
by the frames, after one untimed warm-up pair; batches of `batch_size` pairs as the Animator runs.
Also this process's CPU time per frame, which other jobs on a shared machine disturb far less
(on one torch thread it is the work done; on a GPU it is only the host's part).
"""
from .methods import BASELINE_METHODS, LOCAL_METHODS, MAIN_MODEL_METHODS, METHODS, MODEL_METHODS, generate
from .metrics import (
                      METRICS,
                      PSNR_CAP_DB,
                      SCOPES,
                      feature_statistics,
                      frechet_distance,
                      image_metrics,
                      mae,
                      mse,
                      psnr,
                      ssim,
                      ssim_map,
                      to_unit_float,
)
from .pairs import pair_subsets
from .results import (
                      SCHEMA,
                      MethodResult,
                      SubsetResult,
                      load_results,
                      machine_info,
                      paired_difference,
                      results_document,
                      results_markdown,
                      table_rows,
                      write_json,
                      write_text,
)
from .run import evaluate_model
from .strips import comparison_strip, save_strip

__all__ = [
    "METHODS", "LOCAL_METHODS", "BASELINE_METHODS", "MODEL_METHODS", "MAIN_MODEL_METHODS",
    "SCOPES", "METRICS", "PSNR_CAP_DB", "SCHEMA",
    "to_unit_float", "mse", "psnr", "mae", "ssim", "ssim_map", "image_metrics",
    "feature_statistics", "frechet_distance",
    "pair_subsets", "generate", "evaluate_model", "SubsetResult", "MethodResult",
    "paired_difference", "load_results", "machine_info",
    "results_document", "results_markdown", "table_rows", "write_json", "write_text",
    "comparison_strip", "save_strip",
]
