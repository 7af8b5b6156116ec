"""Which arm pixels does the overlay rule give back to the body, on every real reference?

    python experiments/probe_hair_over_arms.py [-o /tmp/hair_over_arms.png]

Asked: can hair (or a ruffle) lying over an upper arm in the photo be told from a sleeve, so that it
stays with the head and torso when the arm moves? The rule (`reference.OVERLAYS`, which lived only
in the commit that added this script): an upper arm's colours are taken from its forearm's core
instead of its own, capsule pixels the body's colours explain better go back to the body, but not
in slices across the bone where under a quarter of the arm has the forearm's colours (a sleeve wraps
the whole arm). Prints, per reference, the arm pixels given back; draws them in magenta over the
arms (green). Answer: experiments/results/probe_hair_over_arms.md.
"""
from __future__ import annotations

import argparse
import glob
from pathlib import Path

import cv2
import numpy as np

import ilat_video.warp.reference as reference_module
from ilat_video.fileio import load_image
from ilat_video.pose.extract import extract_image_person
from ilat_video.video import read_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARMS = [2, 3, 4, 5]


def references():
    photos = sorted(glob.glob(str(SHARED / "real" / "photos" / "*")))
    photos += [str(SHARED / "images" / "standing_woman_rgba.png"),
               str(Path(__file__).parents[1] / "examples" / "photo.jpg")]
    for path in photos:
        yield Path(path).name, load_image(path)
    for path in sorted(glob.glob(str(SHARED / "real" / "videos" / "*.mp4"))):
        yield Path(path).name + " frame 0", next(iter(read_frames(path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", default="/tmp/hair_over_arms.png")
    args = parser.parse_args()
    tiles = []
    for name, image in references():
        try:
            found = extract_image_person(image)
        except Exception as error:  # a person too small for MediaPipe
            print(f"{name}: skipped ({error})")
            continue
        arms = []
        for flag in (False, True):
            reference_module.OVERLAYS = flag
            prepared = reference_module.prepare_reference(image, found.mask, found.pose, found.extras)
            arms.append(np.isin(prepared.labels, ARMS))
        gone = arms[0] & ~arms[1]
        print(f"{name}: {int(gone.sum())} of {int(arms[0].sum())} arm pixels given back")
        shown = image.copy()
        shown[arms[1]] = (0.6 * shown[arms[1]] + 0.4 * np.array([0, 255, 0])).astype(np.uint8)
        shown[gone] = (0.3 * shown[gone] + 0.7 * np.array([255, 0, 255])).astype(np.uint8)
        tile = np.concatenate([image, shown], 1)
        tiles.append(cv2.resize(tile, (int(tile.shape[1] * 300 / tile.shape[0]), 300)))
    width = max(t.shape[1] for t in tiles)
    sheet = np.concatenate([np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0)), constant_values=255) for t in tiles])
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
