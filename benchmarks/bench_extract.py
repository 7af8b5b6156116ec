"""Pose extraction: accuracy against human labels, speed, and the One-Euro filter's defaults.

    python benchmarks/bench_extract.py                 # all three, writes benchmarks/results/extract.json
    python benchmarks/bench_extract.py --only speed --repeats 3

accuracy: PCK@0.2 (a joint is correct within 0.2 x the larger side of the person's labelled box)
    of the 13 extracted joints against the COCO labels in tests/data/coco, over every labelled
    person with >= 10 labelled joints that the extractor finds (image mode, all people it finds,
    matched to labelled people by distance). Also, as a diagnostic that covers every labelled
    person: the same with the landmarker run on a crop around each labelled box. Both for each
    head choice (nose / ears' midpoint / mean of nose, eyes, ears) against COCO's head (the nose).
speed: frames per second of extract_poses on tests/data/video/person_dribble.mp4 (1080x1920, 40
    frames), whole call (model load, decoding, landmarker, filtering), for several settings.
filter: RMSE of One-Euro-filtered tracks on real motion (Penn Action labels, lightly smoothed as
    the truth) plus synthetic jitter of MediaPipe's measured size, over a grid of settings.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ilat_video.fileio import load_image  # noqa: E402
from ilat_video.pose import filters  # noqa: E402
from ilat_video.pose.extract import (HEAD_CHOICES, _Landmarker, extract_poses_report,  # noqa: E402
                                     find_pose_model, landmarks_to_joints, match_people, pck)

DATA = ROOT / "tests" / "data"
VIDEO = DATA / "video" / "person_dribble.mp4"
RESULTS = ROOT / "benchmarks" / "results"

def coco_people(json_path: Path, min_labelled: int = 10):
    """{image file: [(joints (13, 3), larger box side, box)]} for people with >= min_labelled of our
    13 joints labelled. The head is COCO's as pose.formats reads it (the nose when labelled)."""
    from ilat_video.pose.formats import read_coco_people

    people: dict[str, list] = {}
    for p in read_coco_people(json_path):
        people.setdefault(p.file_name, [])
        if (p.joints[:, 2] > 0).sum() >= min_labelled and not p.iscrowd:
            people[p.file_name].append((p.joints, float(max(p.bbox[2], p.bbox[3])), p.bbox))
    return people


def bench_accuracy() -> dict:
    people = coco_people(DATA / "coco" / "test_coco.json")
    total = sum(len(v) for v in people.values())
    out: dict = {"labelled_people": total}
    model = find_pose_model()
    with _Landmarker(model, video=False, num_poses=6) as landmarker:
        landmarks = {name: landmarker.detect(load_image(DATA / "coco" / name)) for name in people}
        crops = {}
        for name, labelled in people.items():
            image = load_image(DATA / "coco" / name)
            crops[name] = [_crop_landmarks(landmarker, image, box) for _, _, box in labelled]
    for head in HEAD_CHOICES:
        found_pred, found_truth, found_sides = [], [], []
        for name, labelled in people.items():
            if not labelled:
                continue
            pred = [landmarks_to_joints(p, head) for p in landmarks[name]]
            truth = np.stack([j for j, _, _ in labelled])
            sides = np.array([s for _, s, _ in labelled])
            for t_index, p_index in match_people(pred, truth, sides):
                found_pred.append(pred[p_index])
                found_truth.append(truth[t_index])
                found_sides.append(sides[t_index])
        crop_pred, crop_truth, crop_sides = [], [], []
        for name, labelled in people.items():
            for (joints, side, _), lms in zip(labelled, crops[name]):
                if lms is not None:
                    crop_pred.append(landmarks_to_joints(lms, head))
                    crop_truth.append(joints)
                    crop_sides.append(side)
        found = _pck_summary(found_pred, found_truth, found_sides)
        cropped = _pck_summary(crop_pred, crop_truth, crop_sides)
        out[head] = {"found": found, "gt_crops": cropped}
        print(f"head={head:5s} found {found['people']}/{total}: PCK@0.2 {found['pck']:.3f} "
              f"({found['joints']} joints), head error median {found['head_error_median']:.3f} | "
              f"on crops {cropped['people']}/{total}: PCK@0.2 {cropped['pck']:.3f}, head error "
              f"median {cropped['head_error_median']:.3f}, head PCK@0.05 {cropped['head_pck_0.05']:.2f}")
    return out


def _crop_landmarks(landmarker, image, box, margin=0.25):
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(image.shape[1], cx + side / 2)), int(min(image.shape[0], cy + side / 2))
    found = landmarker.detect(np.ascontiguousarray(image[y0:y1, x0:x1]))
    if not found:
        return None
    # the person whose landmarks lie most inside the labelled box
    best = max(found, key=lambda p: np.mean((p[:, 0] + x0 >= x) & (p[:, 0] + x0 <= x + w)
                                            & (p[:, 1] + y0 >= y) & (p[:, 1] + y0 <= y + h)))
    best = best.copy()
    best[:, 0] += x0
    best[:, 1] += y0
    return best


def _pck_summary(pred, truth, sides) -> dict:
    if not pred:
        return {"people": 0, "joints": 0, "pck": float("nan"), "head_error_median": float("nan"),
                "head_pck_0.05": float("nan")}
    pred, truth, sides = np.stack(pred), np.stack(truth), np.asarray(sides)
    labelled = truth[..., 2] > 0
    head_err = (np.linalg.norm(pred[:, 0, :2] - truth[:, 0, :2], axis=1) / sides)[labelled[:, 0]]
    return {
        "people": int(len(pred)),
        "joints": int(labelled.sum()),
        "pck": float(pck(pred, truth, sides)),
        "per_joint_pck": [float(pck(pred[:, j:j + 1], truth[:, j:j + 1], sides)) for j in range(13)],
        "head_error_median": float(np.median(head_err)) if len(head_err) else float("nan"),
        "head_pck_0.05": float(np.mean(head_err <= 0.05)) if len(head_err) else float("nan"),
    }


def bench_speed(repeats: int) -> dict:
    settings = {
        "default (one person at the start: num_poses=1)": {},
        "num_poses=2 (as when several people are in view)": {"num_poses": 2},
        "max_side=1280": {"max_side": 1280},
        "max_side=960": {"max_side": 960},
        "max_side=640": {"max_side": 640},
        "num_poses=2, max_side=640": {"num_poses": 2, "max_side": 640},
    }
    out = {"load_average_before": os.getloadavg()}
    reference = extract_poses_report(VIDEO, smooth=False).poses
    size = max(reference.width, reference.height)
    for label, kwargs in settings.items():
        runs, cpu, result = [], [], None
        for _ in range(repeats):
            start = time.process_time()  # CPU time of all this process's threads
            result = extract_poses_report(VIDEO, smooth=False, **kwargs)
            cpu.append((time.process_time() - start) / len(result.poses) * 1000)
            runs.append(result.frames_per_second)
        deviation = np.linalg.norm(result.poses.xy - reference.xy, axis=-1) / size
        out[label] = {"fps_median": statistics.median(runs), "fps_runs": runs,
                      "cpu_ms_per_frame_median": statistics.median(cpu),
                      "median_joint_shift_vs_default": float(np.median(deviation)),
                      "p95_joint_shift_vs_default": float(np.percentile(deviation, 95))}
        print(f"{label:48s} {statistics.median(runs):5.1f} frames/s, {statistics.median(cpu):5.1f} CPU ms/frame; "
              f"joints vs default: median {np.median(deviation):.4f}, p95 {np.percentile(deviation, 95):.4f} "
              "of the frame's side")
    out["breakdown_ms_per_frame"] = _time_breakdown()
    print("CPU breakdown (ms/frame; model load: ms):", {k: round(v, 1) for k, v in out["breakdown_ms_per_frame"].items()})
    return out


def _time_breakdown() -> dict:
    """Where the CPU time goes (ms of CPU per frame, all threads; not overlapped, unlike
    extract_poses, which decodes in a background thread while the landmarker works)."""
    from ilat_video.video import open_video

    out = {}
    start = time.process_time()
    with open_video(VIDEO) as video:
        frames = list(video)
    out["decode_to_rgb_full_size"] = (time.process_time() - start) / len(frames) * 1000
    start = time.process_time()
    with open_video(VIDEO) as video:
        n = sum(1 for _ in video.frames(size=(360, 640)))
    out["decode_to_rgb_640"] = (time.process_time() - start) / n * 1000
    for num_poses in (1, 2):
        start = time.process_time()
        with _Landmarker(find_pose_model(), video=True, num_poses=num_poses) as landmarker:
            out[f"model_load_num_poses_{num_poses}"] = (time.process_time() - start) * 1000
            start = time.process_time()
            for i, frame in enumerate(frames):
                landmarker.detect(frame, int(i * 1000 / 12))
        out[f"landmarker_num_poses_{num_poses}"] = (time.process_time() - start) / len(frames) * 1000
    return out


def bench_filter() -> dict:
    """Grid over (min_cutoff, beta): error of filtered noisy tracks against the true motion.

    Truth: the 3 Penn Action label tracks (real motion at 30 fps, Gaussian-smoothed over 1 frame
    to take out most labelling jitter), and the same people standing still (their first frame
    held for 2 s). Noise: per-axis sd 0.001 of the frame's larger side (MediaPipe's jitter measured
    on a still person in VIDEO mode) and 0.003 (occluded joints jitter more). At 30 and 12 fps.
    Score = mean over cases of RMSE(filtered) / RMSE(unfiltered); < 1 means the filter helps.
    """
    from scipy.io import loadmat
    from scipy.ndimage import gaussian_filter1d

    moving = []  # (T, 13, 2) in units of the frame's larger side, at 30 fps
    for path in sorted((DATA / "penn_action").glob("*.mat")):
        mat = loadmat(path)
        xy = np.stack([mat["x"], mat["y"]], -1).astype(np.float64)
        side = float(max(mat["dimensions"].ravel()[:2]))
        moving.append(gaussian_filter1d(xy / side, sigma=1.0, axis=0))
    still = [np.repeat(track[:1], 60, axis=0) for track in moving]
    rng = np.random.default_rng(0)
    cases = []  # (kind, sigma, fps, clean, noisy)
    for kind, tracks in (("motion", moving), ("still", still)):
        for sigma in (0.001, 0.003):
            for fps, stride in ((30.0, 1), (12.0, 2)):
                for track in tracks:
                    clean = track[::stride]
                    cases.append((kind, sigma, fps, clean, clean + rng.normal(0, sigma, clean.shape)))

    def ratio(clean, noisy, filtered):
        return float(np.sqrt(np.mean(np.sum((filtered - clean) ** 2, -1)))
                     / np.sqrt(np.mean(np.sum((noisy - clean) ** 2, -1))))

    grid = {}
    for mc in (0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 8.0):
        for beta in (0.0, 5.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0):
            grid[(mc, beta)] = float(np.mean([
                ratio(clean, noisy, filters.one_euro(noisy, fps, min_cutoff=mc, beta=beta))
                for _, _, fps, clean, noisy in cases]))
    best = min(grid, key=grid.get)
    default = (filters.DEFAULT_MIN_CUTOFF, filters.DEFAULT_BETA)
    per_case: dict[str, list[float]] = {}
    for kind, sigma, fps, clean, noisy in cases:
        key = f"{kind}, sd={sigma}, {fps:g} fps"
        per_case.setdefault(key, []).append(ratio(clean, noisy, filters.one_euro(noisy, fps)))
    print(f"best (min_cutoff, beta) = {best}: mean RMSE ratio {grid[best]:.3f}; "
          f"defaults {default}: {grid.get(default, float('nan')):.3f} (filtered / unfiltered)")
    for key, ratios in per_case.items():
        print(f"  defaults, {key}: RMSE ratio {np.mean(ratios):.3f}")
    return {"rmse_ratio_grid": {f"{mc},{b}": v for (mc, b), v in grid.items()},
            "best": list(best), "best_ratio": grid[best], "defaults": list(default),
            "defaults_ratio": grid.get(default),
            "defaults_per_case": {k: float(np.mean(v)) for k, v in per_case.items()}}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["accuracy", "speed", "filter"], action="append")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "extract.json")
    args = parser.parse_args()
    parts = args.only or ["accuracy", "speed", "filter"]
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = machine()
    results["command"] = "python " + " ".join(sys.argv)
    for part in parts:
        print(f"--- {part}")
        results[part] = bench_accuracy() if part == "accuracy" else (
            bench_speed(args.repeats) if part == "speed" else bench_filter())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
