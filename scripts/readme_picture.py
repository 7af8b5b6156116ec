"""The README's opening picture: the Quick start's job (reference | driving video | result), a few
moments of it stacked, made by the same call the CLI makes.

    python scripts/readme_picture.py [--out docs/readme.jpg]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ilat_video.pipeline import Animator, default_model_dir
from ilat_video.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "readme.jpg")
    parser.add_argument("--frames", type=int, default=76, help="Driving frames to animate.")
    parser.add_argument("--rows", type=int, default=3, help="Moments shown, evenly spread.")
    parser.add_argument("--width", type=int, default=1200, help="The picture's width in pixels.")
    args = parser.parse_args()
    animator = Animator.from_pretrained(default_model_dir(), device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "side_by_side.mp4"
        animator.animate_to_file(EXAMPLES / "photo.jpg", EXAMPLES / "dance.mp4", video, max_frames=args.frames,
                                 side_by_side=True)
        frames = list(read_frames(video))
    picks = np.linspace(0, len(frames) - 1, args.rows + 2)[1:-1].round().astype(int)
    picture = Image.fromarray(np.concatenate([frames[i] for i in picks], axis=0))
    picture = picture.resize((args.width, round(picture.height * args.width / picture.width)), Image.LANCZOS)
    picture.save(args.out, quality=85)
    print(f"wrote {args.out}: frames {picks.tolist()} of {len(frames)} (reference | driving | result)")


if __name__ == "__main__":
    main()
