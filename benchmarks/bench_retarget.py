"""Retargeting on real footage: does the figure stay in the photo, on its ground line, at one size?

    python benchmarks/bench_retarget.py            # writes benchmarks/results/retarget.md

Driving motion: the poses of every clip in /work/shared/data/real/videos/ (MediaPipe, the project's
offline model, `extract_poses(max_side=640)`), cached in runs/retarget_poses/ (gitignored; delete it
to extract again). References: examples/photo.jpg and four photos of /work/shared/data/real/photos/
(pose from `extract_image_person`). Every mode of `retarget` on every clip x reference pair, twice:
the clip as recorded, and the same poses seen through a synthetic handheld camera (below).

Per clip x reference x mode (frames with a person in the output):
- out of frame: share of frames with any placed joint (confidence > 0) outside the reference image
  ([0, width) x [0, height)).
- foot drift: over the frames where the driving feet are on the ground, |lowest ankle's y - the
  reference's ground line| / the reference's body height (`body_height`); median and 90th
  percentile. The reference's ground line is its lowest ankle's y. "Feet on the ground" is decided
  on the clip as recorded, in its own pixels: the lowest visible ankle is within 0.05 of the clip's
  median body height of the clip's ground line, the 90th percentile of the lowest ankle's y over
  its frames. Sound for a static camera (seven of the nine clips); on the handheld and the nearly
  static clip the camera's motion blurs it. Frames in the synthetic-camera runs use the flags of
  the clip as recorded, which is the point: the camera moved, the feet did not.
- height spread: interquartile range / median of the output's body height. Part of it is the
  driving pose's own (a squat seen from the front shortens the legs): the `scale` column on a
  clip as recorded is that baseline, since `scale` is one similarity.
- camera leak (synthetic camera only): median over frames and joints placed in both of
  |output with the camera - output without| / reference body height: how much camera motion
  became body motion.

The synthetic handheld camera: per frame a similarity about the frame's centre, a zoom that rises
from 1 to 1.3 and back over the clip, a pan of +-10% of the width (period 5 s), a tilt of +-6% of
the height (period 3.3 s) and a shake (a smoothed random walk, 0.5% of the frame's larger side,
seeded). Joints it moves out of the driving frame become unseen, as a real camera would lose them.

Numbers are means over the clip x reference pairs (a pair counts once whatever its length), and
per clip for the two modes that matter. Deterministic: nothing here is timed.

Photos cut at the waist (the default mode only): each reference photo cropped just below its hips
(their midpoint's y + CUT_BELOW_HIPS x its body height), its pose found by MediaPipe on the crop and
its guessed knees and ankles dropped as the Animator drops them (`pipeline.without_guessed_legs`).
Every clip retargeted onto the whole photo and onto the cut one, each measured against its own
photo, over the frames with a person (the whole photo's numbers are the motion's own):
- size: median |trunk length / the photo's - 1| (trunk: shoulder midpoint to hip midpoint);
- hips: median |hip midpoint's y - the photo's| / the photo's body height;
- rises: share of frames whose hips stand higher than the photo's by more than 0.02 body heights
  (on a cut photo that lifts its cut edge into view);
- out: share of frames with a hand (wrist) past the photo's edges.

Driving videos cut at the waist and at the chest (the default mode only): every frame of each clip
cropped below the lowest its hips come (their midpoint's largest y + CUT_BELOW_HIPS x the median body
height) or across the chest (CHEST_SHARE of the way from the shoulders' to the hips' midpoint, the
median over frames), its poses found by MediaPipe on the crop as for the whole clip. Each of the
five photos animated with the cut clip and with the whole clip, compared frame by frame:
- size: median |shoulders' span / the whole clip's - 1|;
- feet: median |lowest ankle's y - the photo's ground line| / the photo's body height;
- legs: median |(knee or ankle - its hip) - the photo's| / the photo's body height: 0 when the
  photo's legs stand as they are;
- hands: median |(wrist - neck) - the whole clip's| / the photo's body height.
The whole clip's figure is not the truth for a cut one: what the crop hides (a crouch, a kick) it
cannot show, and it is sized on the whole chain of each body where the cut one is sized on what
both show.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import code_version, cpu_name  # noqa: E402

from ilat_video.pose import skeleton as sk  # noqa: E402
from ilat_video.pose.formats import load_poses, save_poses  # noqa: E402
from ilat_video.pose.retarget import DEFAULT_MODE, MODES, body_height, retarget  # noqa: E402
from ilat_video.pose.sequence import PoseSequence  # noqa: E402

REAL = Path("/work/shared/data/real")
CACHE = ROOT / "runs" / "retarget_poses"
RESULTS = ROOT / "benchmarks" / "results"
REFERENCES = (ROOT / "examples" / "photo.jpg", REAL / "photos" / "standing_hoodie_black_bg.png",
              REAL / "photos" / "denim_dress_stairs.png", REAL / "photos" / "arms_up_waterfront.png",
              REAL / "photos" / "yoga_warrior_beach.jpg")
GROUNDED_BAND = 0.05      # body heights above the clip's ground line that still count as on the ground
CUT_BELOW_HIPS = 0.05     # a waist-up photo: cropped this far (body heights) below the hips' midpoint
CHEST_SHARE = 0.35        # a chest-up driving video: cropped this share of the way from the neck to the hips
TRUNK = [sk.HEAD, sk.R_SHOULDER, sk.L_SHOULDER, sk.R_HIP, sk.L_HIP]
ANKLES = [sk.R_ANKLE, sk.L_ANKLE]


# --- inputs -----------------------------------------------------------------------------------

def driving_poses(video: Path) -> PoseSequence:
    cached = CACHE / f"{video.stem}.json"
    if not cached.exists():
        from ilat_video.pose.extract import extract_poses

        CACHE.mkdir(parents=True, exist_ok=True)
        save_poses(extract_poses(video, max_side=640), cached)
    return load_poses(cached)


def reference_pose(photo: Path) -> PoseSequence:
    cached = CACHE / f"ref_{photo.stem}.json"
    if not cached.exists():
        from ilat_video.fileio import load_image
        from ilat_video.pose.extract import extract_image_person

        image = load_image(photo)
        pose = extract_image_person(image).pose
        CACHE.mkdir(parents=True, exist_ok=True)
        save_poses(PoseSequence(pose[None], image.shape[1], image.shape[0], source=photo.name), cached)
    return load_poses(cached)


def cut_reference(photo: Path) -> PoseSequence:
    """The pose of `photo` cropped just below its hips (module docstring), as the Animator reads it."""
    cached = CACHE / f"cut_{photo.stem}.json"
    if not cached.exists():
        from ilat_video.fileio import load_image
        from ilat_video.pose.extract import extract_image_person

        image = load_image(photo)
        pose = extract_image_person(image).pose.astype(np.float64)
        bottom = int(round(pose[[sk.R_HIP, sk.L_HIP], 1].mean() + CUT_BELOW_HIPS * body_height(pose)))
        crop = np.ascontiguousarray(image[:bottom])
        person = _as_the_animator_reads(extract_image_person(crop))
        CACHE.mkdir(parents=True, exist_ok=True)
        save_poses(PoseSequence(person.pose[None], crop.shape[1], crop.shape[0], source=f"{photo.name} cut"), cached)
    return load_poses(cached)


def cut_driving(video: Path, where: str) -> PoseSequence:
    """The poses of `video` with every frame cropped below the lowest the hips come (`where` "waist")
    or across the chest (`where` "chest"; module docstring), found as in `driving_poses`."""
    cached = CACHE / f"{where}_{video.stem}.json"
    if not cached.exists():
        from ilat_video.pose.extract import extract_poses
        from ilat_video.video import read_frames

        whole = driving_poses(video)
        kp = whole.keypoints.astype(np.float64)[whole.has_person]
        scale = np.nanmedian(body_height(kp))
        neck = kp[:, [sk.R_SHOULDER, sk.L_SHOULDER], 1].mean(1)
        pelvis = kp[:, [sk.R_HIP, sk.L_HIP], 1].mean(1)
        line = (pelvis.max() + CUT_BELOW_HIPS * scale if where == "waist"
                else np.median(neck + CHEST_SHARE * (pelvis - neck)))
        first = next(iter(read_frames(video, max_frames=1)))
        bottom = int(round(line * first.shape[0] / whole.height))
        frames = (np.ascontiguousarray(frame[:bottom]) for frame in read_frames(video))
        CACHE.mkdir(parents=True, exist_ok=True)
        save_poses(extract_poses(frames, fps=whole.fps, max_side=640).replace(source=f"{video.stem} ({where})"),
                   cached)
    return load_poses(cached)


def measure_cut_driving(cut: PoseSequence, whole: PoseSequence, photo: np.ndarray) -> dict:
    """A retargeting of a cut driving video against the same photo's from the whole video (module docstring)."""
    both = cut.has_person & whole.has_person
    a, b = cut.keypoints.astype(np.float64)[both], whole.keypoints.astype(np.float64)[both]
    height = body_height(photo)

    def span(kp):
        return np.linalg.norm(kp[..., sk.R_SHOULDER, :2] - kp[..., sk.L_SHOULDER, :2], axis=-1)

    def neck(kp):
        return (kp[:, sk.R_SHOULDER, :2] + kp[:, sk.L_SHOULDER, :2]) / 2

    legs = []
    for hip, knee, ankle in ((sk.R_HIP, sk.R_KNEE, sk.R_ANKLE), (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE)):
        for joint in (knee, ankle):
            shape = (a[:, joint, :2] - a[:, hip, :2]) - (photo[joint, :2] - photo[hip, :2])
            legs.append(np.linalg.norm(shape, axis=-1))
    wrists = [np.linalg.norm((a[:, w, :2] - neck(a)) - (b[:, w, :2] - neck(b)), axis=-1)
              for w in (sk.R_WRIST, sk.L_WRIST)]
    return {"size": float(np.median(np.abs(span(a) / span(b) - 1))),
            "feet": float(np.median(np.abs(a[:, ANKLES, 1].max(1) - photo[ANKLES, 1].max())) / height),
            "legs": float(np.median(np.concatenate(legs)) / height),
            "hands": float(np.median(np.concatenate(wrists)) / height)}


def _as_the_animator_reads(person):
    try:
        from ilat_video.pipeline import without_guessed_legs
    except ImportError:  # code from before it (a comparison run)
        return person
    return without_guessed_legs(person, "cut")


def trunk_length(kp: np.ndarray) -> np.ndarray:
    neck = (kp[..., sk.R_SHOULDER, :2] + kp[..., sk.L_SHOULDER, :2]) / 2
    pelvis = (kp[..., sk.R_HIP, :2] + kp[..., sk.L_HIP, :2]) / 2
    return np.linalg.norm(neck - pelvis, axis=-1)


def measure_cut(out: PoseSequence, photo: np.ndarray) -> dict:
    """A retargeted sequence against the photo it is put on (module docstring: photos cut at the waist)."""
    kp = out.keypoints.astype(np.float64)[out.has_person]
    height = body_height(photo)
    pelvis = (kp[:, sk.R_HIP, 1] + kp[:, sk.L_HIP, 1]) / 2
    own = photo[[sk.R_HIP, sk.L_HIP], 1].mean()
    wrists = kp[:, [sk.R_WRIST, sk.L_WRIST]]
    past = (wrists[..., 2] > 0) & ((wrists[..., 0] < 0) | (wrists[..., 0] >= out.width) | (wrists[..., 1] < 0)
                                   | (wrists[..., 1] >= out.height))
    return {"size": float(np.median(np.abs(trunk_length(kp) / trunk_length(photo) - 1))),
            "hips": float(np.median(np.abs(pelvis - own)) / height),
            "rises": float((pelvis < own - 0.02 * height).mean()),
            "out": float(past.any(1).mean())}


def handheld_camera(seq: PoseSequence, seed: int = 0) -> PoseSequence:
    """The poses through the synthetic handheld camera of the module docstring."""
    frames, width, height = len(seq), seq.width, seq.height
    t = np.arange(frames) / seq.fps
    zoom = 1 + 0.3 * np.sin(np.pi * np.arange(frames) / max(frames - 1, 1))
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 1, (frames, 2)), 0)
    walk = np.apply_along_axis(lambda v: np.convolve(v, np.ones(9) / 9, mode="same"), 0, walk)
    walk = walk / max(float(walk.std()), 1e-9) * 0.005 * max(width, height)
    pan = np.stack([0.10 * width * np.sin(2 * np.pi * t / 5.0), 0.06 * height * np.sin(2 * np.pi * t / 3.3)], 1)
    center = np.array([width / 2, height / 2])
    kp = seq.keypoints.astype(np.float64)
    xy = center + zoom[:, None, None] * (kp[..., :2] - center) + (pan + walk)[:, None, :]
    inside = (xy[..., 0] >= 0) & (xy[..., 0] < width) & (xy[..., 1] >= 0) & (xy[..., 1] < height)
    seen = (kp[..., 2] > 0) & inside
    kp[..., :2] = np.where(seen[..., None], xy, 0.0)
    kp[..., 2] = np.where(seen, kp[..., 2], 0.0)
    return seq.replace(keypoints=kp.astype(np.float32), source=f"{seq.source} (handheld camera)")


def grounded_frames(seq: PoseSequence) -> np.ndarray:
    """(T,) bool: the driving feet are on the ground (module docstring)."""
    kp = seq.keypoints.astype(np.float64)
    lowest = np.where(kp[:, ANKLES, 2] > 0, kp[:, ANKLES, 1], -np.inf).max(1)
    has = np.isfinite(lowest)
    if not has.any():
        return np.zeros(len(seq), bool)
    line = np.percentile(lowest[has], 90)
    height = np.nanmedian(body_height(kp[seq.has_person]))
    return has & (lowest >= line - GROUNDED_BAND * height)


# --- metrics ----------------------------------------------------------------------------------

def measure(out: PoseSequence, ref: np.ndarray, grounded: np.ndarray) -> dict:
    kp = out.keypoints.astype(np.float64)
    person = out.has_person
    placed = kp[..., 2] > 0
    outside = placed & ((kp[..., 0] < 0) | (kp[..., 0] >= out.width) | (kp[..., 1] < 0) | (kp[..., 1] >= out.height))
    ref_height = body_height(ref)
    ground = ref[ANKLES, 1].max()
    lowest = np.where(placed[:, ANKLES], kp[:, ANKLES, 1], -np.inf).max(1)
    on = grounded & person & np.isfinite(lowest)
    drift = np.abs(lowest[on] - ground) / ref_height
    heights = body_height(kp[person])
    heights = heights[np.isfinite(heights)]
    q75, q50, q25 = np.percentile(heights, [75, 50, 25])
    return {"out": float(outside[person].any(1).mean()),
            "drift_median": float(np.median(drift)) if drift.size else np.nan,
            "drift_p90": float(np.percentile(drift, 90)) if drift.size else np.nan,
            "spread": float((q75 - q25) / q50)}


def camera_leak(with_camera: PoseSequence, without: PoseSequence, ref: np.ndarray) -> float:
    a, b = with_camera.keypoints.astype(np.float64), without.keypoints.astype(np.float64)
    both = (a[..., 2] > 0) & (b[..., 2] > 0)
    return float(np.median(np.linalg.norm(a[..., :2] - b[..., :2], axis=-1)[both]) / body_height(ref))


def run(videos: list[Path], modes: tuple[str, ...]) -> dict:
    rows = []
    refs = [(photo.name, reference_pose(photo)) for photo in REFERENCES]
    for video in videos:
        recorded = driving_poses(video)
        if not recorded.has_person.any():
            continue
        camera = handheld_camera(recorded)
        grounded = grounded_frames(recorded)
        for ref_name, ref_seq in refs:
            ref = ref_seq.keypoints[0].astype(np.float64)
            for mode in modes:
                plain = retarget(recorded, ref_seq, mode=mode)
                moved = retarget(camera, ref_seq, mode=mode)
                rows.append({"clip": video.stem, "reference": ref_name, "mode": mode,
                             "frames": len(recorded), "grounded": int(grounded.sum()),
                             "recorded": measure(plain, ref, grounded),
                             "camera": {**measure(moved, ref, grounded), "leak": camera_leak(moved, plain, ref)}})
    cut_rows = []
    for photo in REFERENCES:
        whole_seq, cut_seq = reference_pose(photo), cut_reference(photo)
        for video in videos:
            recorded = driving_poses(video)
            if not recorded.has_person.any():
                continue
            for kind, seq in (("cut", cut_seq), ("whole", whole_seq)):
                out = retarget(recorded, seq, mode=DEFAULT_MODE)
                cut_rows.append({"clip": video.stem, "reference": photo.name, "kind": kind, "height": seq.height,
                                 **measure_cut(out, seq.keypoints[0].astype(np.float64))})
    driving_rows = []
    for video in videos:
        recorded = driving_poses(video)
        if not recorded.has_person.any():
            continue
        for where in ("waist", "chest"):
            cut = cut_driving(video, where)
            for photo in REFERENCES:
                ref_seq = reference_pose(photo)
                driving_rows.append({"clip": video.stem, "reference": photo.name, "where": where,
                                     **measure_cut_driving(retarget(cut, ref_seq, mode=DEFAULT_MODE),
                                                           retarget(recorded, ref_seq, mode=DEFAULT_MODE),
                                                           ref_seq.keypoints[0].astype(np.float64))})
    return {"rows": rows, "cut": cut_rows, "driving": driving_rows}


# --- report -----------------------------------------------------------------------------------

def _mean(rows, condition, key) -> float:
    values = [r[condition][key] for r in rows if np.isfinite(r[condition][key])]
    return float(np.mean(values)) if values else float("nan")


def report(result: dict, modes: tuple[str, ...]) -> list[str]:
    rows = result["rows"]
    clips = sorted({r["clip"] for r in rows})
    lines = [
        "# Retargeting on real footage",
        "",
        f"Code {code_version()}, {cpu_name()}. Script: `benchmarks/bench_retarget.py` (its docstring defines "
        "every number). Driving: the poses of the "
        f"{len(clips)} clips in `/work/shared/data/real/videos/` (MediaPipe); references: "
        + ", ".join(f"`{p.name}`" for p in REFERENCES) + f"; {len(rows) // len(modes)} clip x reference pairs. "
        "Means over the pairs. Lower is better in every column. The default mode is "
        f"`{DEFAULT_MODE}`.",
        "",
        "| mode | out of frame (share of frames) | foot drift, median (body heights) | foot drift, p90 | "
        "height spread (IQR / median) | camera: out of frame | camera: foot drift median | camera: foot drift p90 | "
        "camera: height spread | camera leak (body heights) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        sel = [r for r in rows if r["mode"] == mode]
        cells = [_mean(sel, "recorded", k) for k in ("out", "drift_median", "drift_p90", "spread")]
        cells += [_mean(sel, "camera", k) for k in ("out", "drift_median", "drift_p90", "spread", "leak")]
        name = f"**{mode}** (default)" if mode == DEFAULT_MODE else mode
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    lines += ["", "Per clip (means over the references), as recorded -> through the synthetic handheld camera:", "",
              "| clip | frames (on the ground) | mode | out of frame | foot drift median | height spread "
              "| camera leak |",
              "|---|---|---|---|---|---|---|"]
    shown = [m for m in ("scale", DEFAULT_MODE) if m in modes]
    for clip in clips:
        for mode in shown:
            sel = [r for r in rows if r["clip"] == clip and r["mode"] == mode]
            pairs = [f"{_mean(sel, 'recorded', key):.3f} -> {_mean(sel, 'camera', key):.3f}"
                     for key in ("out", "drift_median", "spread")]
            lines.append(f"| {clip} | {sel[0]['frames']} ({sel[0]['grounded']}) | {mode} | " + " | ".join(pairs)
                         + f" | {_mean(sel, 'camera', 'leak'):.3f} |")
    cut = result["cut"]
    lines += ["", f"Photos cut at the waist, `{DEFAULT_MODE}` (module docstring), per reference, means over clips:",
              "", "| reference | photo | height (px) | size: trunk off the photo's "
              "| hips off the photo's (body heights) | hips risen (share of frames) "
              "| a hand out of the photo (share of frames) |",
              "|---|---|---|---|---|---|---|"]
    keys = ("size", "hips", "rises", "out")
    for photo in REFERENCES:
        for kind in ("whole", "cut"):
            sel = [r for r in cut if r["reference"] == photo.name and r["kind"] == kind]
            lines.append(f"| {photo.name} | {kind} | {sel[0]['height']} | " + " | ".join(
                f"{np.mean([r[k] for r in sel]):.3f}" for k in keys) + " |")
    for kind in ("whole", "cut"):
        sel = [r for r in cut if r["kind"] == kind]
        lines.append(f"| **mean** | {kind} | | " + " | ".join(f"{np.mean([r[k] for r in sel]):.3f}" for k in keys)
                     + " |")
    driving = result["driving"]
    lines += ["", f"Driving videos cut at the waist and at the chest, `{DEFAULT_MODE}` (module docstring), per clip, "
              "means over the references:", "",
              "| clip | cut | size: shoulders off the whole video's | feet off the photo's ground line (body heights) "
              "| legs off the photo's own (body heights) | hands off the whole video's (body heights) |",
              "|---|---|---|---|---|---|"]
    keys = ("size", "feet", "legs", "hands")
    for clip in sorted({r["clip"] for r in driving}):
        for where in ("waist", "chest"):
            sel = [r for r in driving if r["clip"] == clip and r["where"] == where]
            lines.append(f"| {clip} | {where} | " + " | ".join(f"{np.mean([r[k] for r in sel]):.3f}" for k in keys)
                         + " |")
    for where in ("waist", "chest"):
        sel = [r for r in driving if r["where"] == where]
        lines.append(f"| **mean** | {where} | " + " | ".join(f"{np.mean([r[k] for r in sel]):.3f}" for k in keys)
                     + " |")
    lines += [
        "",
        "## What it says",
        "",
        f"- `{DEFAULT_MODE}` is the default because it is the only mode with no frame out of the photo, and it has "
        "the least foot drift and camera leak of the modes that move the figure, as recorded and through the "
        "synthetic camera. `scale` stays for a static camera where the whole clip should keep one "
        "transform (its height spread is then the driving pose's own); `bones` has no spread by construction "
        "(every bone keeps the reference's length) but its feet leave the ground line.",
        "- `steady`'s windows (size 1 s, ground 0.5 s, sideways 2 s) were chosen with this benchmark on these "
        "clips (a small sweep: a 4 s sideways window leaked twice as much camera pan; a 1 s ground window "
        "drifted nearly twice as much through the camera, before the ground line followed its trend), so "
        "these numbers flatter it somewhat; the property tests in `tests/test_retarget.py` check the same "
        "behaviour on synthetic motion.",
        "- Its height spread is lower than `scale`'s partly because a per-frame size also evens out some of the "
        "pose's own foreshortening (a squat seen from the front), not only the camera's zoom.",
        "- The driving poses were extracted by the extractor of the code above (with its default smoothing) and "
        "cached in runs/retarget_poses/; delete it after the extractor changes.",
        "- Photos cut at the waist: the figure keeps its trunk's size (off the photo's by less than the whole "
        "photo's own motion makes it) and its hips' height, and a hand leaves the photo in a fifth of the frames "
        "(arms out in a photo as wide as the person). Measured by this script on e2fcb89, before a cut photo was "
        "animated as framed: the trunk 0.349 off the photo's (it shrank), the hips 0.179 body heights off "
        "(it sank), a hand out in 0.458 of the frames.",
        "- Driving videos cut at the waist or the chest: where the frame cuts the legs off (hips or knees past "
        "its edge in most frames), the photo's legs stand as they are (legs 0.00-0.01 off the photo's) on its "
        "ground line; where they stay in view in most frames (both squat clips, the clean and jerk and the yoga "
        "at the waist, the barbell squat at the chest too) the pose model's legs are kept and the rows are "
        "unchanged. Measured by this script on 87418f7's retargeting, with the same cut "
        "poses, when the guesses below the frame were taken as seen: waist 0.122 / 0.016 / 0.162 / 0.035 "
        "(size / feet / legs / hands), chest 0.328 / 0.026 / 0.269 / 0.112; a jumping person's guessed legs "
        "stayed put as her hips rose, and the figure shrank by a fifth at every jump. The size and hands "
        "columns compare with the whole clip, which crouches where the cut one cannot see it (the tai chi "
        "clips: hands up to 0.08 further off than before at the chest, with a figure that stands and bows "
        "instead of folding into a small kneeling one).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", nargs="*", type=Path, default=sorted((REAL / "videos").glob("*.mp4")))
    parser.add_argument("--out", type=Path, default=RESULTS / "retarget.md")
    args = parser.parse_args()
    result = run(args.videos, MODES)
    lines = report(result, MODES)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
