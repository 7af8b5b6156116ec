"""Which reference tokens count as "unchanged", and how to blend: the choices behind
`--background unchanged`, measured on held-out synthetic pairs.

For each pair the model samples the region's tokens once (greedy); the frame is then composed in
several ways from the same tokens, and region PSNR is measured against the true target:
- "paste": Eq. 4 inside the region, the reference's pixels outside (`--background reference`);
- "unchanged (alone | region | either)": also the reference's pixels in the region's token cells
  where the generated token equals the reference's token there, as the reference encoded alone
  gives it (the condition tokens), with the region (the known tokens), or either;
- "either, blur k": the same cells, blended with a k x k box filter over both sides of the border
  instead of the one-sided 2-pixel feather (it mixes the reference into the cells the model changed);
- the bound of each: the true target tokens in place of the generated ones; and copy.

    python benchmarks/probe_unchanged.py --model models/demo --pairs 100

Writes benchmarks/results/probe_unchanged.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_results  # noqa: E402
from ilat_video import evaluate as ev  # noqa: E402
from ilat_video.data.pairs import tensor_to_image  # noqa: E402
from ilat_video.regions import changed_region, paste_outside  # noqa: E402
from ilat_video.sampling import sample_local  # noqa: E402
from ilat_video.train.transformer import normalize_pose  # noqa: E402


def blurred_keep(decoded, reference, region, kept_cells, k):
    """The reference in kept cells and outside the region, blended by a k x k box filter."""
    keep = (kept_cells | ~region)[:, None].float()
    weight = torch.nn.functional.avg_pool2d(keep, k, 1, k // 2, count_include_pad=False)
    return weight * reference + (1 - weight) * decoded


@torch.inference_mode()
def compose(tokenizer, model, b) -> dict[str, torch.Tensor]:
    reference, region = b["reference"], b["region"].bool()
    size = reference.shape[-1]
    _, alone, _ = tokenizer.encode(reference)
    _, known, z = tokenizer.encode(reference, region)
    _, truth, _ = tokenizer.encode(b["target"], region)
    cells = tokenizer.token_region(region)
    ref_pose = normalize_pose(b["reference_pose"].float(), size) if model.config.needs_reference_pose else None
    tokens = sample_local(model, alone.flatten(1), known.flatten(1), normalize_pose(b["target_pose"].float(), size),
                          cells, reference_pose=ref_pose).view_as(known)
    out = {"copy": reference}
    for name, toks in (("", tokens), ("bound, ", truth)):
        decoded = tokenizer.decode_indices(toks, z=z, region=cells).clamp(-1, 1).float()
        out[f"{name}paste"] = paste_outside(decoded, reference, region)
        for label, maps in (("alone", (alone,)), ("region", (known,)), ("either", (alone, known))):
            out[f"{name}unchanged ({label})"] = paste_outside(decoded, reference, changed_region(region, toks, *maps))
        kept = region & ~changed_region(region, toks, alone, known)
        for k in (3, 5, 7):
            out[f"{name}either, blur {k}"] = blurred_keep(decoded, reference, region, kept, k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "demo"))
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "probe_unchanged"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer, model = ev.load_models(args.model, device="cpu")
    pairs = ev.pair_subsets("synthetic", tokenizer.config.resolution, count=args.pairs, seeds=(args.seed,))[args.seed]
    psnr: dict[str, list[float]] = {}
    for start in range(0, len(pairs), 10):
        b = ev._stack(pairs[start:start + 10], "cpu")
        for name, frames in compose(tokenizer, model, b).items():
            for frame, truth, region in zip(frames, b["target"], b["region"].bool().numpy()):
                psnr.setdefault(name, []).append(ev.psnr(tensor_to_image(frame), tensor_to_image(truth), region))
    paste, copy = np.array(psnr["paste"]), np.array(psnr["copy"])
    rows = {name: {"region_psnr": float(np.mean(v)), "minus_paste": float(np.mean(np.array(v) - paste)),
                   "better_than_copy": float(np.mean(np.array(v) > copy))} for name, v in psnr.items()}
    command = "python benchmarks/probe_unchanged.py " + " ".join(sys.argv[1:])
    lines = [f"Command: `{command}`", "", f"{args.pairs} held-out synthetic pairs (subset {args.seed}), greedy; "
             "region PSNR, mean over pairs; paired difference from `paste` (Eq. 4 + reference outside).", "",
             "| composition | region PSNR | - paste | pairs better than copy |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {r['region_psnr']:.2f} | {r['minus_paste']:+.2f} | {100 * r['better_than_copy']:.0f}% |"
              for name, r in rows.items()]
    write_results(args.out, {"command": command, "pairs": args.pairs, "seed": args.seed, "rows": rows}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
