#!/usr/bin/env python
"""Picture of the Quick start demo under three output settings, and their frame-to-frame change.

    python scripts/demo_decodings.py [--frames 40] [--out docs/demo_decodings.png]

Rows: the default output (`--decode tokens`), `--decode expected`, `--decode expected --views 4`;
columns: frames 0, 10, 20, 30 of examples/driving.mp4 animated onto examples/reference.png with the
shipped demo model. Prints the mean absolute change between consecutive frames (grey levels), a
measure of flicker.
"""
from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from ilat_video.options import RenderOptions
from ilat_video.pipeline import Animator, default_model_dir

SETTINGS = {"tokens": dict(), "expected": dict(decode="expected"), "expected, 4 views": dict(decode="expected", views=4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--out", default="docs/demo_decodings.png")
    args = parser.parse_args()
    animator = Animator.from_pretrained(default_model_dir())
    # Poses extracted and retargeted once; only the generation differs between the rows.
    plan = animator.plan(animator.load_reference("examples/reference.png", "examples/reference_pose.json"),
                         animator.load_driving("examples/driving.mp4", max_frames=args.frames))
    rows = []
    for name, options in SETTINGS.items():
        frames = np.stack(list(animator.generate(plan, RenderOptions(frame="square", **options))))
        change = np.abs(np.diff(frames.astype(np.float64), axis=0)).mean()
        print(f"{name}: mean frame-to-frame change {change:.2f} grey levels over {len(frames)} frames")
        rows.append(np.concatenate([frames[i] for i in range(0, min(len(frames), 40), 10)], axis=1))
    picture = np.concatenate(rows, axis=0)
    Image.fromarray(picture).resize((picture.shape[1] * 3, picture.shape[0] * 3), Image.NEAREST).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
