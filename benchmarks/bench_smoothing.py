"""Pose smoothing against exact joints: error, jitter and lag of raw, One-Euro, tracking and two-sided.

    python benchmarks/bench_smoothing.py                 # writes benchmarks/results/smoothing.{md,json}
    python benchmarks/bench_smoothing.py --seeds 1 --no-real   # a quick look

Synthetic truth: clips of the synthetic people (ilat_video.data.synth, all seven motion families,
512x512 drawn at 2x and reduced, 30 fps, 3 s) go through the extractor's public function
(extract_poses, smooth=False, no gap filling) and every filter runs on the raw joints. Settings
are chosen on the "train" split's clips and reported on the "test" split's (different people,
backgrounds and motions). Runs of >= 8 frames with a person found are scored:
  error  mean joint distance to the truth / the clip's median torso length (neck to pelvis);
  jitter mean |second difference of (estimate - truth)| / torso: the frame-to-frame shake that
         is not in the motion;
  lag    the shift (frames, sub-frame by a parabola through the peak) that best aligns the
         estimate's velocity with the truth's (cross-correlation summed over joints): > 0 = late.
Real motion with MediaPipe's error: the Penn Action labels in the repo (tests/data/penn_action:
a baseball pitch, jumping jacks, a squat; 30 fps; hand-clicked, so lightly smoothed, Gaussian
sigma 1 frame) are real human motion, faster than the synthetic families; each is given, in turn,
the error MediaPipe made on each synthetic clip of a split (raw - truth, in torso lengths, scaled
to the Penn person's torso, with its confidences) and scored against the labels like the synthetic
clips. Settings are chosen on both truth sets (train clips' errors), reported on the test clips'.
Real clips (jitter only, no truth): the static-camera clips in /work/shared/data/real/videos/,
jitter = mean |second difference of the track| / its median torso (the motion's own acceleration
included), and as a proxy for the noise alone the same of (track - a centred Gaussian (sigma 2
frames) of the raw track), with the lag against that proxy.
"""
from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from pathlib import Path

import numpy as np
from scipy.io import loadmat
from scipy.ndimage import gaussian_filter1d

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import code_version, cpu_name, write_results

from ilat_video.data.synth import ACTIONS, file_video
from ilat_video.errors import NoPersonError
from ilat_video.pose import filters
from ilat_video.pose.extract import extract_poses

RESULTS = ROOT / "benchmarks" / "results"
REAL = Path("/work/shared/data/real/videos")
PENN = ROOT / "tests" / "data" / "penn_action"
PENN_FPS = 30.0
STATIC_CLIPS = ("squats_band_portrait", "football_juggling_park", "taichi_glass_wall",
                "weightlifting_clean_and_jerk", "taichi_forest", "yoga_rooftop", "aerobics_white_studio")
SIZE, FRAMES, FPS = 512, 90, 30.0
MIN_FOUND = 0.8  # clips where the extractor finds the person in fewer frames are left out
MIN_RUN = 8
# The target of issue 28: jitter halved against the raw landmarks, lag under one frame. Settings
# are chosen to meet it with a margin on the train clips, so that it holds on clips not chosen on.
MAX_JITTER_RATIO, MAX_LAG, MARGIN = 0.5, 1.0, 0.95

ONE_EURO_GRID = list(itertools.product((0.1, 0.3, 1.0, 2.0, 4.0, 8.0), (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 200.0)))
TRACKING_GRID = list(itertools.product((300.0, 1000.0, 2000.0, 3000.0, 5000.0, 10000.0, 30000.0),
                                       (0.0, 0.5, 1.0, 2.0)))
TWO_SIDED_GRID = list(itertools.product((100.0, 300.0, 1000.0, 2000.0, 5000.0, 10000.0, 30000.0),
                                        (0.0, 0.5, 1.0, 2.0)))


# --- metrics --------------------------------------------------------------------------------------
def torso(xy: np.ndarray) -> np.ndarray:
    """(T, 13, 2) -> (T,) neck-to-pelvis distance."""
    return np.linalg.norm((xy[:, 1] + xy[:, 2]) / 2 - (xy[:, 7] + xy[:, 8]) / 2, axis=-1)


def second_difference(x: np.ndarray) -> np.ndarray:
    return x[2:] - 2 * x[1:-1] + x[:-2]


def lag_frames(estimate: np.ndarray, truth: np.ndarray, max_shift: int = 6) -> float:
    """Frames by which `estimate` (T, J, 2) trails `truth`: the best-aligning shift of velocities."""
    ve, vt = np.diff(estimate, axis=0), np.diff(truth, axis=0)
    ve, vt = ve - ve.mean(0), vt - vt.mean(0)
    shifts = np.arange(-max_shift, max_shift + 1)
    n = len(ve)
    corr = np.array([np.sum(ve[s:] * vt[:n - s]) if s >= 0 else np.sum(ve[:n + s] * vt[-s:]) for s in shifts])
    i = int(np.argmax(corr))
    offset = 0.0
    if 0 < i < len(corr) - 1:
        curve = corr[i - 1] - 2 * corr[i] + corr[i + 1]
        offset = 0.5 * (corr[i - 1] - corr[i + 1]) / curve if curve < 0 else 0.0
    return float(shifts[i] + offset)


def person_runs(found: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of >= MIN_RUN frames with a person."""
    edges = np.flatnonzero(np.diff(np.r_[0, found.astype(int), 0]))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= MIN_RUN]


def score_synthetic(clips: list[dict], smooth) -> dict:
    """error, jitter, lag of smooth(keypoints (T, 13, 3), fps, frame side) -> xy (T, 13, 2)."""
    errors, jitters, lags, weights = [], [], [], []
    for clip in clips:
        raw, truth = clip["raw"], clip["truth"]
        size = float(np.median(torso(truth)))
        for a, b in person_runs((raw[:, :, 2] > 0).any(1)):
            estimate, true = smooth(raw[a:b], clip.get("fps", FPS), clip.get("side", SIZE)), truth[a:b]
            errors.append(np.linalg.norm(estimate - true, axis=-1).ravel() / size)
            jitters.append(np.linalg.norm(second_difference(estimate - true), axis=-1).ravel() / size)
            lags.append(lag_frames(estimate, true))
            weights.append(b - a)
    return {"error": float(np.concatenate(errors).mean()), "jitter": float(np.concatenate(jitters).mean()),
            "lag": float(np.average(lags, weights=weights))}


def score_real(clips: list[dict], smooth) -> dict:
    jitters, residuals, lags, weights = [], [], [], []
    for clip in clips:
        raw, fps = clip["raw"], clip["fps"]
        for a, b in person_runs((raw[:, :, 2] > 0).any(1)):
            size = float(np.median(torso(raw[a:b, :, :2])))
            estimate = smooth(raw[a:b], fps, clip["side"])
            proxy = gaussian_filter1d(raw[a:b, :, :2].astype(np.float64), 2.0, axis=0, mode="nearest")
            jitters.append(np.linalg.norm(second_difference(estimate), axis=-1).ravel() / size)
            residuals.append(np.linalg.norm(second_difference(estimate - proxy), axis=-1).ravel() / size)
            lags.append(lag_frames(estimate, proxy))
            weights.append(b - a)
    return {"jitter": float(np.concatenate(jitters).mean()), "jitter_vs_proxy": float(np.concatenate(residuals).mean()),
            "lag_vs_proxy": float(np.average(lags, weights=weights))}


# --- the smoothers, on (T, 13, 3) keypoints of one run with a person --------------------------------
def raw_xy(keypoints, fps, side):
    return keypoints[..., :2].astype(np.float64)


def one_euro(min_cutoff, beta):
    def smooth(keypoints, fps, side):  # in units of the frame's larger side, as smooth_poses does
        return filters.one_euro(keypoints[..., :2] / side, fps, min_cutoff=min_cutoff, beta=beta) * side
    return smooth


def tracking(acceleration_noise, confidence_power):
    def smooth(keypoints, fps, side):  # scale-free
        return filters.track(keypoints[..., :2], fps, confidence=np.clip(keypoints[..., 2], 0, 1),
                             acceleration_noise=acceleration_noise, confidence_power=confidence_power)
    return smooth


def two_sided(acceleration_noise, confidence_power):
    def smooth(keypoints, fps, side):  # scale-free
        return filters.smooth_track(keypoints[..., :2], fps, confidence=np.clip(keypoints[..., 2], 0, 1),
                                    acceleration_noise=acceleration_noise, confidence_power=confidence_power)
    return smooth


# --- data ---------------------------------------------------------------------------------------
def cached(cache: Path | None, name: str, make) -> dict:
    """make() -> dict of arrays and numbers, kept in cache/name.npz when a cache folder is given."""
    if cache is None:
        return make()
    path = cache / f"{name}.npz"
    if path.exists():
        with np.load(path) as data:
            return {k: data[k] if data[k].ndim else data[k].item() for k in data.files}
    value = make()
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **value)
    return value


def synthetic_clips(split: str, seeds: int, log: list[str], cache: Path | None) -> list[dict]:
    clips = []
    for seed in range(seeds):
        for index, action in enumerate(ACTIONS):
            video = file_video(seed, split, index, SIZE, FRAMES, action=action)

            def extract(video=video):
                frames = np.stack([video.render(t, supersample=2) for t in range(video.num_frames)])
                try:
                    return {"raw": extract_poses(frames, fps=FPS, smooth=False, max_gap=0).keypoints}
                except NoPersonError:
                    return {"raw": np.zeros((video.num_frames, 13, 3), np.float32)}

            raw = cached(cache, f"{split}_{action}_{seed}", extract)["raw"].astype(np.float64)
            found = float((raw[:, :, 2] > 0).any(1).mean())
            kept = found >= MIN_FOUND
            log.append(f"{split} {action} (seed {seed}, {video.view}): person found in {found:.0%} of frames"
                       + ("" if kept else ", left out"))
            if kept:
                clips.append({"name": f"{split}/{action}/{seed}", "raw": raw,
                              "truth": video.poses[..., :2].astype(np.float64)})
    return clips


def penn_with_mediapipe_error(clips: list[dict]) -> list[dict]:
    """Each Penn Action clip plus each synthetic clip's MediaPipe error (module docstring); only
    synthetic clips with the person found in every one of the Penn clip's frames are used."""
    out = []
    for path in sorted(PENN.glob("*.mat")):
        labels = loadmat(path)
        clean = gaussian_filter1d(np.stack([labels["x"], labels["y"]], -1).astype(np.float64), 1.0, axis=0)
        height, width = labels["dimensions"].ravel()[:2]
        penn_torso = float(np.median(torso(clean)))
        steps = len(clean)
        for clip in clips:
            raw, truth = clip["raw"][:steps], clip["truth"][:steps]
            if len(raw) < steps or not (raw[:, :, 2] > 0).all():
                continue
            error = (raw[..., :2] - truth) / float(np.median(torso(clip["truth"])))
            noisy = np.concatenate([clean + error * penn_torso, raw[..., 2:]], -1)
            out.append({"name": f"{path.stem}+{clip['name']}", "raw": noisy, "truth": clean,
                        "fps": PENN_FPS, "side": float(max(height, width))})
    return out


def real_clips(cache: Path | None) -> list[dict]:
    clips = []
    for name in STATIC_CLIPS:
        def extract(name=name):
            poses = extract_poses(REAL / f"{name}.mp4", smooth=False, max_gap=0)
            return {"raw": poses.keypoints, "fps": poses.fps, "width": poses.width, "height": poses.height}

        clip = cached(cache, f"real_{name}", extract)
        raw = clip["raw"].astype(np.float64)
        clips.append({"name": name, "raw": raw, "fps": float(clip["fps"]),
                      "side": float(max(clip["width"], clip["height"])), "frames": len(raw),
                      "found": float((raw[:, :, 2] > 0).any(1).mean()), "size": f"{clip['width']}x{clip['height']}"})
    return clips


# --- tuning and report ----------------------------------------------------------------------------
def choose(grids: list[tuple[dict, dict]]) -> tuple:
    """Over (grid, raw scores) of each truth set: the setting with the least error (/ raw, summed
    over the sets) among those meeting the jitter and lag targets with the margin on every set
    and adding no error on any; else among those meeting the targets; else the one with the least
    jitter among those with lag < MAX_LAG on every set."""
    keys = list(grids[0][0])

    def meets(k, no_added_error):
        return all(g[k]["jitter"] <= MARGIN * MAX_JITTER_RATIO * raw["jitter"] and g[k]["lag"] < MARGIN * MAX_LAG
                   and (not no_added_error or g[k]["error"] <= raw["error"]) for g, raw in grids)

    def error(k):
        return sum(g[k]["error"] / raw["error"] for g, raw in grids)

    for strict in (True, False):
        good = [k for k in keys if meets(k, strict)]
        if good:
            return min(good, key=error)
    return min((k for k in keys if all(g[k]["lag"] < MAX_LAG for g, _ in grids)),
               key=lambda k: sum(g[k]["jitter"] / raw["jitter"] for g, raw in grids))


def grid_table(title: str, keys: list[tuple], *grids: tuple[dict, dict]) -> list[str]:
    """Markdown rows: one row per first setting, one column per second; each cell the (error / raw,
    jitter / raw, lag) on each truth set, separated by ' / '."""
    rows, columns = sorted({k[0] for k in keys}), sorted({k[1] for k in keys})
    out = ["", f"| {title} | " + " | ".join(f"{c:g}" for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        out.append(f"| {row:g} | " + " | ".join(" / ".join(
            f"{g[(row, c)]['error'] / raw['error']:.3f}, {g[(row, c)]['jitter'] / raw['jitter']:.3f}, "
            f"{g[(row, c)]['lag']:.2f}" for g, raw in grids) for c in columns) + " |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="clips per motion family and split")
    parser.add_argument("--no-real", action="store_true", help="skip the real clips")
    parser.add_argument("--out", type=Path, default=RESULTS / "smoothing")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the raw extracted joints here and reuse them (for trying filters)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    log: list[str] = []
    tune = synthetic_clips("train", args.seeds, log, args.cache)
    test = synthetic_clips("test", args.seeds, log, args.cache)
    print("\n".join(log))

    penn_tune, penn_test = penn_with_mediapipe_error(tune), penn_with_mediapipe_error(test)
    raw_tune, raw_penn_tune = score_synthetic(tune, raw_xy), score_synthetic(penn_tune, raw_xy)

    def tuned(grid_keys, make):
        synthetic_grid = {k: score_synthetic(tune, make(*k)) for k in grid_keys}
        penn_grid = {k: score_synthetic(penn_tune, make(*k)) for k in grid_keys}
        return synthetic_grid, penn_grid, choose([(synthetic_grid, raw_tune), (penn_grid, raw_penn_tune)])

    one_euro_grid, one_euro_penn, best_one_euro = tuned(ONE_EURO_GRID, one_euro)
    tracking_grid, tracking_penn, best_tracking = tuned(TRACKING_GRID, tracking)
    two_sided_grid, two_sided_penn, best_two_sided = tuned(TWO_SIDED_GRID, two_sided)
    defaults = {
        "raw landmarks": raw_xy,
        f"One-Euro, current defaults (min_cutoff {filters.DEFAULT_MIN_CUTOFF:g}, beta {filters.DEFAULT_BETA:g})":
            one_euro(filters.DEFAULT_MIN_CUTOFF, filters.DEFAULT_BETA),
        f"One-Euro, tuned here (min_cutoff {best_one_euro[0]:g}, beta {best_one_euro[1]:g})": one_euro(*best_one_euro),
        f"tracking, tuned here (acceleration_noise {best_tracking[0]:g}, confidence_power {best_tracking[1]:g})":
            tracking(*best_tracking),
        f"tracking, library defaults ({filters.DEFAULT_ACCELERATION_NOISE:g}, {filters.DEFAULT_CONFIDENCE_POWER:g})":
            tracking(filters.DEFAULT_ACCELERATION_NOISE, filters.DEFAULT_CONFIDENCE_POWER),
        f"two-sided, tuned here (acceleration_noise {best_two_sided[0]:g}, confidence_power {best_two_sided[1]:g})":
            two_sided(*best_two_sided),
        f"**two-sided, library defaults ({filters.DEFAULT_SMOOTHER_NOISE:g}, {filters.DEFAULT_SMOOTHER_POWER:g}): "
        "the default**": two_sided(filters.DEFAULT_SMOOTHER_NOISE, filters.DEFAULT_SMOOTHER_POWER),
    }
    synthetic = {name: score_synthetic(test, fn) for name, fn in defaults.items()}
    penn = {name: score_synthetic(penn_test, fn) for name, fn in defaults.items()}
    real = real_clips(args.cache) if not args.no_real else []
    real_scores = {name: score_real(real, fn) for name, fn in defaults.items()} if real else {}
    per_real = {clip["name"]: {name: score_real([clip], fn)["jitter"] for name, fn in defaults.items()}
                for clip in real}
    seconds = time.perf_counter() - start

    raw = synthetic["raw landmarks"]
    lines = [
        "# Pose smoothing against exact joints",
        "",
        f"Code {code_version()}, {cpu_name()}. Command: `python benchmarks/bench_smoothing.py"
        + (f" --seeds {args.seeds}" if args.seeds != 3 else "") + ("  --no-real" if args.no_real else "")
        + f"` ({seconds / 60:.1f} min). How it is measured: the script's docstring.",
        "",
        (f"Synthetic people ({SIZE}x{SIZE}, {FPS:g} fps, {FRAMES} frames, 7 motion families): settings chosen on "
        f"{len(tune)} train clips, scored on {len(test)} test clips (clips where the extractor finds the person in "
        f"under {MIN_FOUND:.0%} of frames are left out: {sum('left out' in line for line in log)} of "
        f"{len(log)}). Error and jitter in torso lengths; lag in frames (> 0 = late)."),
        "",
        "| smoothing | error | jitter | jitter / raw | lag (frames) |",
        "|---|---|---|---|---|",
    ]
    for name, r in synthetic.items():
        lines.append(f"| {name} | {r['error']:.4f} ({r['error'] / raw['error']:.3f}x) | {r['jitter']:.4f} | "
                     f"{r['jitter'] / raw['jitter']:.3f} | {r['lag']:.2f} |")
    raw_penn = penn["raw landmarks"]
    lines += ["", (f"Real motion with MediaPipe's error ({len(penn_test)} clips: 3 Penn Action clips, each with the "
              "error of each test clip that found the person in all of its frames); same units:"), "",
              "| smoothing | error | jitter | jitter / raw | lag (frames) |", "|---|---|---|---|---|"]
    for name, r in penn.items():
        lines.append(f"| {name} | {r['error']:.4f} ({r['error'] / raw_penn['error']:.3f}x) | {r['jitter']:.4f} | "
                     f"{r['jitter'] / raw_penn['jitter']:.3f} | {r['lag']:.2f} |")
    verdicts = []
    for scores, base in ((synthetic, raw), (penn, raw_penn)):
        shipped = scores[list(defaults)[-1]]
        verdicts.append([("jitter at most half the raw", shipped["jitter"] <= MAX_JITTER_RATIO * base["jitter"]),
                         (f"lag under {MAX_LAG:g} frame", shipped["lag"] < MAX_LAG),
                         ("no added error", shipped["error"] <= base["error"])])
    lines += ["", "Target of issue 28 with the library defaults (synthetic people; real motion): "
              + "; ".join(f"{what}: {' and '.join('met' if v[i][1] else 'NOT met' for v in verdicts)}"
                          for i, (what, _) in enumerate(verdicts[0])) + "."]
    if real:
        raw_real = real_scores["raw landmarks"]
        lines += [
            "",
            (f"Real static-camera clips (no truth; {', '.join(c['name'] for c in real)}): jitter of the track, and of "
            "the track minus a centred Gaussian (sigma 2 frames) of the raw track, the noise proxy; lag against "
            "that proxy."),
            "",
            "| smoothing | jitter | jitter / raw | jitter vs proxy | / raw | lag vs proxy |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in real_scores.items():
            lines.append(f"| {name} | {r['jitter']:.4f} | {r['jitter'] / raw_real['jitter']:.3f} | "
                         f"{r['jitter_vs_proxy']:.4f} | {r['jitter_vs_proxy'] / raw_real['jitter_vs_proxy']:.3f} | "
                         f"{r['lag_vs_proxy']:.2f} |")
        names = list(defaults)
        lines += ["", "Jitter / raw per clip: " + "; ".join(
            f"{c['name']} ({c['size']}, {c['fps']:.3g} fps, person in {c['found']:.0%}): One-Euro defaults "
            f"{per_real[c['name']][names[1]] / per_real[c['name']][names[0]]:.2f}, tracking defaults "
            f"{per_real[c['name']][names[4]] / per_real[c['name']][names[0]]:.2f}, two-sided defaults "
            f"{per_real[c['name']][names[-1]] / per_real[c['name']][names[0]]:.2f}" for c in real) + "."]
    lines += ["", ("Tuning grids on the train clips (error / raw, jitter / raw, lag), synthetic people first, then "
              "real motion with its error, in each cell, raw there: synthetic error "
              f"{raw_tune['error']:.4f}, jitter {raw_tune['jitter']:.4f}, lag {raw_tune['lag']:.2f}; real motion "
              f"error {raw_penn_tune['error']:.4f}, jitter {raw_penn_tune['jitter']:.4f}, lag "
              f"{raw_penn_tune['lag']:.2f}.")]
    lines += grid_table("tracking: acceleration_noise \\ confidence_power", TRACKING_GRID,
                        (tracking_grid, raw_tune), (tracking_penn, raw_penn_tune))
    lines += grid_table("two-sided: acceleration_noise \\ confidence_power", TWO_SIDED_GRID,
                        (two_sided_grid, raw_tune), (two_sided_penn, raw_penn_tune))
    lines += grid_table("One-Euro: min_cutoff \\ beta", ONE_EURO_GRID,
                        (one_euro_grid, raw_tune), (one_euro_penn, raw_penn_tune))
    left_out = [line.split(": person found in ")[0] + " (" + line.split("found in ")[1].split(" of")[0] + ")"
                for line in log if "left out" in line]
    lines += ["", (f"Detection of the synthetic people: MediaPipe found the person in every frame of "
              f"{sum('found in 100%' in line for line in log)} of {len(log)} clips; left out (found in under "
              f"{MIN_FOUND:.0%} of frames): {', '.join(left_out) or 'none'}. Every clip: `{args.out.name}.json`.")]
    result = {"code_version": code_version(), "cpu": cpu_name(), "seconds": seconds,
              "synthetic_test": synthetic, "synthetic_train_raw": raw_tune,
              "tracking_grid": {f"{q:g},{p:g}": r for (q, p), r in tracking_grid.items()},
              "one_euro_grid": {f"{m:g},{b:g}": r for (m, b), r in one_euro_grid.items()},
              "two_sided_grid": {f"{q:g},{p:g}": r for (q, p), r in two_sided_grid.items()},
              "real_motion_test": penn, "real_motion_train_raw": raw_penn_tune,
              "real_motion_grids": {name: {f"{a:g},{b:g}": r for (a, b), r in grid.items()} for name, grid in
                                    (("tracking", tracking_penn), ("two_sided", two_sided_penn),
                                     ("one_euro", one_euro_penn))},
              "chosen": {"one_euro": list(best_one_euro), "tracking": list(best_tracking),
                         "two_sided": list(best_two_sided)},
              "real": real_scores, "real_per_clip": per_real, "detection": log}
    print("\n".join(lines))
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
