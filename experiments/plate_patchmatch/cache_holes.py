"""Cache each real photo's image, hole and today's plate at the stage size, as the project makes them.

    python experiments/plate_patchmatch/cache_holes.py   # -> experiments/plate_patchmatch/cache/*.npz
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ilat_video import compose  # noqa: E402
from ilat_video.pipeline import Animator, default_model_dir  # noqa: E402

PHOTOS = sorted(Path("/work/shared/data/real/photos").iterdir()) + [ROOT / "examples" / "photo.jpg"]
CACHE = Path(__file__).resolve().parent / "cache"


def main() -> None:
    torch.set_num_threads(1)
    CACHE.mkdir(exist_ok=True)
    a = Animator.from_pretrained(default_model_dir(), device="cpu")
    for path in PHOTOS:
        out = CACHE / (path.stem + ".npz")
        if out.exists():
            continue
        ref = a.load_reference(path)
        mask = ref.mask if ref.mask is not None else a._person_mask(ref)
        start = time.perf_counter()
        stage = compose.Stage.prepare(ref.image, mask, ref.pose, ref.extras)
        seconds = time.perf_counter() - start
        image, _, _, _ = compose.resize_person(ref.image, np.asarray(mask, np.float32), ref.pose, ref.extras, stage.size)
        np.savez_compressed(out, image=image, hole=stage.hole, plate=stage.plate, original=ref.image,
                            mask=np.asarray(mask, np.float32), prepare_seconds=seconds)
        print(path.name, ref.image.shape, stage.size, f"hole {stage.hole.mean():.3f}", f"{seconds:.1f}s", flush=True)


if __name__ == "__main__":
    main()
