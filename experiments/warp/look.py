"""Look at the part-wise warp (ilat_video/warp.py) on real photos.

    python experiments/warp/look.py [PHOTO ...] [-o /tmp/warp_look.png]

For each photo: pose + person mask by MediaPipe, then a few target poses (the photo's own pose,
arms raised, a step, one forearm moved, and two frames of a real tai chi video retargeted onto the
body with `bones`). One row per target: reference | target skeleton | warped over grey |
confidence (black 0 .. white 1; red where alpha > 0 but confidence < 0.25). Also writes the
reference's part labels beside the strip (*_labels.png) and prints the warp's time per pose.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ilat_video import warp
from ilat_video.fileio import load_image
from ilat_video.pose.draw import draw_pose
from ilat_video.pose.extract import extract_image_person, extract_poses
from ilat_video.pose.retarget import retarget
from ilat_video.pose.sequence import PoseSequence
from ilat_video.pose.skeleton import (
    L_ELBOW,
    L_SHOULDER,
    L_WRIST,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
)
from ilat_video.video import read_frames

SHARED = ROOT.parent / "shared" / "data"
DEFAULT_PHOTOS = [SHARED / "real" / "photos" / "standing_hoodie_black_bg.png",
                  SHARED / "images" / "standing_woman_rgba.png",
                  SHARED / "real" / "photos" / "arms_up_waterfront.png"]
DRIVING = SHARED / "real" / "videos" / "taichi_forest.mp4"
DRIVING_FRAMES = (90, 220)
DRIVING_CROP = (40, 90, 240, 256)  # x0, y0, x1, y1 around the person
PANEL_HEIGHT = 300
PART_COLOURS = np.array([(200, 200, 200), (255, 220, 0), (255, 80, 0), (255, 170, 80), (0, 120, 255),
                         (80, 200, 255), (200, 0, 80), (255, 80, 160), (120, 0, 220), (180, 120, 255)],
                        np.uint8)


def rotate(pose: np.ndarray, pivot: int, chain: list[int], degrees: float) -> np.ndarray:
    """Rotate the joints `chain` about joint `pivot` (image coordinates: + is clockwise)."""
    out = pose.copy()
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    centre = pose[pivot, :2]
    rel = pose[chain, :2] - centre
    out[chain, :2] = centre + rel @ np.array([[c, s], [-s, c]], np.float32)
    return out


def targets(pose: np.ndarray, size: tuple[int, int]) -> list[tuple[str, np.ndarray]]:
    """(name, target pose) pairs built from the reference pose."""
    raised = rotate(pose, R_SHOULDER, [R_ELBOW, R_WRIST], 140)  # the image's left arm swings up
    raised = rotate(raised, L_SHOULDER, [L_ELBOW, L_WRIST], -140)
    step = rotate(pose, R_HIP, [R_KNEE, R_ANKLE], 25)
    step = rotate(step, R_KNEE, [R_ANKLE], -35)
    forearm = rotate(pose, L_ELBOW, [L_WRIST], -100)
    out = [("own pose", pose), ("arms raised", raised), ("a step", step), ("left forearm moved", forearm)]
    moved = retarget(driving_poses(), pose, reference_size=size, mode="bones")
    for frame in DRIVING_FRAMES:
        out.append((f"tai chi frame {frame}", moved.keypoints[frame].astype(np.float32)))
    return out


def driving_poses():
    """The tai chi clip's poses. Its person is small (about 75 of 256 rows) in a busy forest, where
    MediaPipe finds them in 26 of 300 frames; in a crop around them, upscaled 4x, in 286."""
    frames = np.stack(list(read_frames(DRIVING)))
    x0, y0, x1, y1 = DRIVING_CROP
    crop = [Image.fromarray(f[y0:y1, x0:x1]) for f in frames]
    up = np.stack([np.asarray(c.resize((c.width * 4, c.height * 4), Image.BICUBIC)) for c in crop])
    poses = extract_poses(up, fps=30)
    keypoints = poses.keypoints.copy()
    keypoints[..., :2] = keypoints[..., :2] / 4 + [x0, y0]
    return PoseSequence(keypoints, frames.shape[2], frames.shape[1], poses.fps, source=DRIVING.name)


def panel(image: np.ndarray, label: str) -> Image.Image:
    h, w = image.shape[:2]
    scale = PANEL_HEIGHT / h
    im = Image.fromarray(image).resize((max(1, round(w * scale)), PANEL_HEIGHT), Image.BILINEAR)
    ImageDraw.Draw(im).text((4, 4), label, fill=(255, 0, 0))
    return im


def confidence_image(result: warp.WarpResult) -> np.ndarray:
    grey = np.round(result.confidence * 255).astype(np.uint8)
    out = np.repeat(grey[..., None], 3, axis=2)
    low = (result.alpha > 0.05) & (result.confidence < 0.25)
    out[low] = (out[low] * 0.3 + np.array([200, 0, 0]) * 0.7).astype(np.uint8)
    return out


def look(photo: Path) -> tuple[list[list[Image.Image]], Image.Image]:
    image = load_image(photo)
    person = extract_image_person(photo)
    ref = warp.prepare_reference(image, person.mask, person.pose, person.extras)
    h, w = image.shape[:2]
    grey = np.full_like(image, 128)
    rows = []
    for name, target in targets(person.pose, (w, h)):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            result = warp.warp_to_pose(ref, target)
            times.append(time.perf_counter() - start)
        print(f"{photo.name} {name}: {1000 * min(times):.0f} ms; not drawn: {result.skipped or '-'}")
        rows.append([panel(image, "reference"), panel(draw_pose(grey, target), name),
                     panel(result.over(grey), "warped"), panel(confidence_image(result), "confidence")])
    labels = np.where(ref.labels[..., None] >= 0, PART_COLOURS[np.maximum(ref.labels, 0)], 0)
    labels = (0.5 * labels + 0.5 * image).astype(np.uint8)
    return rows, panel(labels, "reference part labels")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("-o", "--output", type=Path, default=Path("/tmp/warp_look.png"))
    args = parser.parse_args()
    rows, label_panels = [], []
    for photo in args.photos:
        photo_rows, labels = look(photo)
        rows.extend(photo_rows)
        label_panels.append(labels)
    width = max(sum(p.width for p in row) for row in rows)
    strip = Image.new("RGB", (width, PANEL_HEIGHT * len(rows)), (0, 0, 0))
    for i, row in enumerate(rows):
        x = 0
        for p in row:
            strip.paste(p, (x, i * PANEL_HEIGHT))
            x += p.width
    strip.save(args.output)
    labels = Image.new("RGB", (sum(p.width for p in label_panels), PANEL_HEIGHT))
    x = 0
    for p in label_panels:
        labels.paste(p, (x, 0))
        x += p.width
    labels.save(args.output.with_name(args.output.stem + "_labels.png"))
    print(f"wrote {args.output} ({strip.width}x{strip.height})")


if __name__ == "__main__":
    main()
