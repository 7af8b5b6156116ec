"""Which fill of the person's hole makes the best background plate?

    python experiments/probe_plate.py synthetic --frames 20 --sizes 128 256   # bench_plate's frames, background known
    python experiments/probe_plate.py reenact --frames 12 --methods ...       # bench_reenact, real self-reenactment
    python experiments/probe_plate.py look --out /tmp/plate                    # crops round the hole of real photos

The default plate (`compose.inpaint`, OpenCV Navier-Stokes at 512 px) is smooth: a person-shaped
smear where the person stood; `compose.inpaint_patches` (shift-map, the picture's own patches, at
256 px) continues texture but copies wrong texture (tiles onto a door, blocks of another shade onto
a plain wall) and loses on real footage. Variants measured here:
- ns: `compose.inpaint` (the default); patches: `compose.inpaint_patches` (256 px);
- harmonic: the membrane (Laplace) fill at 512 px: the smoothest interpolation of the boundary,
  no seam where Navier-Stokes' fronts from either side meet;
- hybrid: Navier-Stokes' low frequencies + the patches' high frequencies inside the hole
  (out = ns + patches - blur(patches), blur sigma 3% of the hole's extent);
- mean: the average of ns and patches;
- checked: ns and patches blended pixel by pixel, each weighted by how badly it predicts a ring
  of known pixels just outside the hole (both methods fill the hole grown by 4% of its extent and
  are scored on the ring; the ring's squared errors spread into the hole by a normalized Gaussian
  blur; weight on patches = err_ns / (err_ns + err_patches), inverse-variance weighting).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from ilat_video import compose  # noqa: E402
from ilat_video.compose import _fill_scaled, inpaint, inpaint_patches  # noqa: E402


def hole_extent(hole: np.ndarray) -> int:
    ys, xs = np.nonzero(hole)
    return int(max(np.ptp(ys), np.ptp(xs))) + 1


def _membrane(small: np.ndarray, small_hole: np.ndarray) -> np.ndarray:
    """Solve Laplace's equation inside small_hole (uint8, 1 = fill) with the known pixels as boundary."""
    height, width = small_hole.shape
    unknown = small_hole > 0
    unknown[0, :] = unknown[-1, :] = unknown[:, 0] = unknown[:, -1] = False  # the box's edge stays known
    index = -np.ones((height, width), np.int64)
    ys, xs = np.nonzero(unknown)
    index[ys, xs] = np.arange(len(ys))
    values = small.astype(np.float64)
    rows, cols, rhs = [np.arange(len(ys))], [np.arange(len(ys))], np.zeros((len(ys), values.shape[2]))
    data = [np.full(len(ys), 4.0)]
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        neighbour = index[ny, nx]
        inside = neighbour >= 0
        rows.append(np.nonzero(inside)[0])
        cols.append(neighbour[inside])
        data.append(np.full(int(inside.sum()), -1.0))
        rhs[~inside] += values[ny[~inside], nx[~inside]]
    matrix = scipy.sparse.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                                     shape=(len(ys), len(ys)))
    solved = scipy.sparse.linalg.splu(matrix.tocsc()).solve(rhs)
    out = values.copy()
    out[ys, xs] = solved
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def harmonic(image: np.ndarray, hole: np.ndarray, work_side: int = 512) -> np.ndarray:
    if not hole.any():
        return image.copy()
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    margin = max(8, int(0.1 * max(np.ptp(ys), np.ptp(xs))))
    box = (max(0, ys.min() - margin), min(height, ys.max() + margin + 1),
           max(0, xs.min() - margin), min(width, xs.max() + margin + 1))
    return _fill_scaled(image, hole, box, work_side, _membrane)


def hybrid(image: np.ndarray, hole: np.ndarray, sigma_share: float = 0.03) -> np.ndarray:
    if not hole.any():
        return image.copy()
    smooth = inpaint(image, hole).astype(np.float32)
    patches = inpaint_patches(image, hole).astype(np.float32)
    sigma = max(1.0, sigma_share * hole_extent(hole))
    out = smooth + (patches - cv2.GaussianBlur(patches, (0, 0), sigma)) * hole[..., None]
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[~hole] = image[~hole]
    return out


def mean(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    out = ((inpaint(image, hole).astype(np.uint16) + inpaint_patches(image, hole) + 1) // 2).astype(np.uint8)
    out[~hole] = image[~hole]
    return out


def checked(image: np.ndarray, hole: np.ndarray, smooth_fill=inpaint, ring_share: float = 0.04,
            spread_share: float = 0.1, power: float = 1.0, check_side: int | None = None) -> np.ndarray:
    if not hole.any():
        return image.copy()
    extent = hole_extent(hole)
    radius = max(2, round(ring_share * extent))
    grown = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)) > 0
    ring = (grown & ~hole).astype(np.float32)
    sigma = max(1.0, spread_share * extent)
    reach = cv2.GaussianBlur(ring, (0, 0), sigma) + 1e-6

    def spread_error(filled: np.ndarray) -> np.ndarray:
        error = ((filled.astype(np.float32) - image.astype(np.float32)) ** 2).mean(-1) * ring
        return cv2.GaussianBlur(error, (0, 0), sigma) / reach + 1.0  # + 1: a floor of one grey level squared

    sides = {} if check_side is None else {"work_side": check_side}
    error_smooth = spread_error(smooth_fill(image, grown, **sides)) ** power
    error_patches = spread_error(inpaint_patches(image, grown, **sides)) ** power
    weight = (error_smooth / (error_smooth + error_patches))[..., None]
    out = smooth_fill(image, hole) * (1 - weight) + inpaint_patches(image, hole) * weight
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    out[~hole] = image[~hole]
    return out


VARIANTS = {
    "ns": inpaint,
    "patches": inpaint_patches,
    "harmonic": harmonic,
    "hybrid": hybrid,
    "mean": mean,
    "checked": checked,
    "checked-harmonic": lambda image, hole: checked(image, hole, smooth_fill=harmonic),
    "checked-harmonic-p2": lambda image, hole: checked(image, hole, smooth_fill=harmonic, power=2),
    "checked-harmonic-c128": lambda image, hole: checked(image, hole, smooth_fill=harmonic, check_side=128),
    "mixed": compose.inpaint_mixed,  # checked-harmonic-p2 as shipped (the errors spread at 128 px)
}


def synthetic(argv: list[str]) -> None:
    """bench_plate's frames and scores, with VARIANTS as its methods (no models loaded, nothing written)."""
    import bench_plate

    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--methods", nargs="+", default=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    def scored(fill):
        def run(image, hole, background, pose):
            out = fill(image, hole)
            out[~hole] = image[~hole]  # scored inside the hole only; bench_plate checks the rest is the image's
            return out
        return run

    bench_plate.methods = lambda models, with_pose: {name: scored(VARIANTS[name]) for name in args.methods}
    args.model, args.with_pose = [], False
    results = bench_plate.run(args)
    lines = [f"`python experiments/probe_plate.py synthetic {' '.join(argv)}`", "",
             "| method | " + " | ".join(f"{s} px PSNR | MAE | s/frame" for s in results) + " |",
             "|---|" + "---|---|---|" * len(results)]
    for name in args.methods:
        cells = []
        for s in results:
            m = results[s]["methods"][name]
            cells.append(f"{m['psnr']:.2f} ± {m['psnr_sem']:.2f} | {m['mae']:.4f} | {m['s_per_frame']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    base = {s: np.array(results[s]["methods"][args.methods[0]]["psnr_per_frame"]) for s in results}
    lines += ["", f"Paired against {args.methods[0]}: share of frames better, mean difference (dB)", ""]
    for name in args.methods[1:]:
        cells = []
        for s in results:
            diff = np.array(results[s]["methods"][name]["psnr_per_frame"]) - base[s]
            cells.append(f"{s} px {100 * (diff > 0).mean():.0f}% ({diff.mean():+.2f})")
        lines.append(f"- {name}: " + ", ".join(cells))
    print("\n".join(lines))


def reenact(argv: list[str]) -> None:
    """bench_reenact with each variant as the plate of `warp+<variant>+holes`."""
    import bench_reenact

    def with_plate(fill):
        def frames(clip):
            original = compose.background_plate
            compose.background_plate = lambda image, hole, **kwargs: fill(image, hole)
            try:
                yield from bench_reenact.warp_frames(clip, "inpaint", "holes")
            finally:
                compose.background_plate = original
        return frames

    for name, fill in VARIANTS.items():
        bench_reenact.METHODS[f"warp+{name}+holes"] = with_plate(fill)
    bench_reenact.PAIRS = tuple((f"warp+{name}+holes", "warp+plate+holes") for name in VARIANTS)
    sys.argv = [sys.argv[0]] + argv
    bench_reenact.main()


PHOTOS = {"photo": ROOT / "examples" / "photo.jpg",
          "dancer": ROOT.parent / "shared" / "data" / "real" / "photos" / "dancer_grey_tee_doorway.png",
          "waterfront": ROOT.parent / "shared" / "data" / "real" / "photos" / "arms_up_waterfront.png"}


def look(argv: list[str]) -> None:
    """For each photo: the hole (magenta) | each variant, cropped around the hole, one PNG per photo."""
    from ilat_video.compose import body_height, check_mask, person_hole
    from ilat_video.fileio import load_image
    from ilat_video.pose.extract import extract_image_person
    from ilat_video.warp import prepare_reference

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/plate")
    parser.add_argument("--methods", nargs="+", default=list(VARIANTS))
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name, path in PHOTOS.items():
        image = load_image(path)
        person = extract_image_person(path)
        mask = check_mask(person.mask, name)
        hole = person_hole(mask, body_height(prepare_reference(image, mask, person.pose, person.extras)))
        ys, xs = np.nonzero(hole)
        margin = int(0.08 * hole_extent(hole))
        y0, y1 = max(0, ys.min() - margin), ys.max() + margin + 1
        x0, x1 = max(0, xs.min() - margin), xs.max() + margin + 1
        shown = image.copy()
        shown[hole] = (shown[hole] * 0.5 + np.array([127, 0, 127])).astype(np.uint8)
        panels = [shown[y0:y1, x0:x1]]
        for method in args.methods:
            started = time.perf_counter()
            panels.append(VARIANTS[method](image, hole)[y0:y1, x0:x1])
            print(f"{name} {method}: {time.perf_counter() - started:.2f} s", flush=True)
        out = Path(args.out) / f"look_{name}.png"
        cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(panels, 1), cv2.COLOR_RGB2BGR))
        print("columns: hole | " + " | ".join(args.methods), "->", out)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    {"synthetic": synthetic, "reenact": reenact, "look": look}[sys.argv[1]](sys.argv[2:])
