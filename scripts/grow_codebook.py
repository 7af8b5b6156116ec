#!/usr/bin/env python
"""Copy a trained tokenizer with a bigger codebook, to continue its training with more codes.

    python scripts/grow_codebook.py MODEL_DIR OUT_DIR --codebook-size 4096

Then train it on: `ilat-video train-tokenizer --stage 2 --init OUT_DIR ...` (restart_dead_codes
places the new codes on the encoder outputs in the first steps). The demo model's card records
where this was used.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ilat_video.nn.tokenizer import TSVQGAN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the trained tokenizer's model folder")
    parser.add_argument("out", type=Path, help="new model folder (must not exist)")
    parser.add_argument("--codebook-size", type=int, required=True)
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists; choose a new folder")
    model = TSVQGAN.from_pretrained(args.model)
    model.with_codebook_size(args.codebook_size).save_pretrained(args.out)
    print(f"{args.model} (K={model.config.codebook_size}) -> {args.out} (K={args.codebook_size})")


if __name__ == "__main__":
    main()
