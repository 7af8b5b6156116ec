"""Picture strips of real photos animated with real driving videos: per pair, the reference, then
the driving frame above the result at a few moments.

    python scripts/photo_strips.py --photos A.jpg B.png C.png --videos D.mp4 E.mp4 --out docs/photo_strips.jpg
    python scripts/photo_strips.py --cut 0.5 --out docs/waist_up.jpg   # the photos' top halves: waist-up
    python scripts/photo_strips.py --cut-videos 0.55 --out docs/waist_up_driving.jpg   # webcam-like videos

Defaults: three photos and two videos of the development data in ../shared/data (see its NOTICE).
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from ilat_video.options import RenderOptions
from ilat_video.pipeline import Animator, default_model_dir
from ilat_video.video import VideoWriter, probe_video, read_frames

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PHOTOS = [ROOT / "examples" / "photo.jpg", SHARED / "real" / "photos" / "dancer_grey_tee_doorway.png",
          SHARED / "real" / "photos" / "arms_up_waterfront.png"]
VIDEOS = [ROOT / "examples" / "dance.mp4", SHARED / "real" / "videos" / "squats_band_portrait.mp4"]
ROW_HEIGHT = 300


def fit(image: np.ndarray, height: int = ROW_HEIGHT) -> np.ndarray:
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((max(1, round(w * height / h)), height), Image.LANCZOS))


def row(animator: Animator, photo: Path, video: Path, moments: int, frames: int) -> np.ndarray:
    """reference | (driving over result) x moments, all ROW_HEIGHT tall (driving at half height)."""
    results = list(animator.animate(photo, video, max_frames=frames, options=RenderOptions(max_side=720)))
    driving = list(read_frames(video, max_frames=len(results)))
    picks = np.linspace(0, len(results) - 1, moments + 2)[1:-1].round().astype(int)
    cells = [fit(animator.load_reference(photo).image)]
    for t in picks:
        result = fit(results[t])
        drive = fit(driving[t], ROW_HEIGHT // 3)
        pad = np.full((ROW_HEIGHT // 3, result.shape[1], 3), 255, np.uint8)
        width = min(drive.shape[1], result.shape[1])
        pad[:, :width] = drive[:, :width]
        cells.append(np.concatenate([pad, result], axis=0)[:ROW_HEIGHT + ROW_HEIGHT // 3])
    top = np.full((ROW_HEIGHT // 3, cells[0].shape[1], 3), 255, np.uint8)
    cells[0] = np.concatenate([top, cells[0]], axis=0)
    gap = np.full((cells[0].shape[0], 6, 3), 255, np.uint8)
    strip = np.concatenate([c for cell in cells for c in (cell, gap)], axis=1)
    label = Image.fromarray(strip)
    ImageDraw.Draw(label).text((4, 4), f"{photo.name} x {video.name}", fill=(0, 0, 0))
    return np.asarray(label)


def top_share(photo: Path, share: float, folder: Path) -> Path:
    """The top `share` of the photo's height, saved in `folder` (PNG, named after the photo)."""
    image = Image.open(photo)
    image = ImageOps.exif_transpose(image)
    cut = folder / f"{photo.stem}_top{round(100 * share)}.png"
    image.crop((0, 0, image.width, max(1, round(share * image.height)))).save(cut)
    return cut


def top_share_video(video: Path, share: float, frames: int, folder: Path) -> Path:
    """The top `share` of the video's first `frames` frames (an even height), saved in `folder`."""
    cut = folder / f"{video.stem}_top{round(100 * share)}.mp4"
    with VideoWriter(cut, fps=probe_video(video)["fps"], preset="ultrafast") as writer:
        for frame in read_frames(video, max_frames=frames):
            writer.write(np.ascontiguousarray(frame[:max(2, round(share * frame.shape[0]) // 2 * 2)]))
    return cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", type=Path, default=PHOTOS)
    parser.add_argument("--videos", nargs="+", type=Path, default=VIDEOS)
    parser.add_argument("--moments", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60, help="Driving frames animated per pair.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "photo_strips.jpg")
    parser.add_argument("--width", type=int, default=1200, help="The picture's width at most, in pixels.")
    parser.add_argument("--cut", type=float, default=None,
                        help="Animate each photo's top share of its height only (0.5: a photo cut at the waist).")
    parser.add_argument("--cut-videos", type=float, default=None,
                        help="Drive with each video's top share of its height only (a webcam's view).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    animator = Animator.from_pretrained(default_model_dir(), device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        photos = args.photos if args.cut is None else [top_share(p, args.cut, Path(folder)) for p in args.photos]
        videos = args.videos if args.cut_videos is None else [
            top_share_video(v, args.cut_videos, args.frames, Path(folder)) for v in args.videos]
        rows = [row(animator, photo, video, args.moments, args.frames) for photo in photos for video in videos]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    if picture.width > args.width:
        picture = picture.resize((args.width, round(picture.height * args.width / picture.width)), Image.LANCZOS)
    picture.save(args.out, quality=82)
    print(f"wrote {args.out}: {len(rows)} pairs")


if __name__ == "__main__":
    main()
