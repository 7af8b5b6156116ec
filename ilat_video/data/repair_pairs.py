"""RepairPairs: training samples for repairing a warped frame (`compose.repair_region`) from synthetic videos.

At inference the reference photo's person is warped part by part to each target pose and laid over
the background plate (`compose.Stage.frame`); a repair model regenerates what the warp cannot show
well: the holes inside the warped person, the target body the warp left uncovered, the seams and
strongly rotated parts it trusts little. The synthetic renderer gives everything needed to make
that exact picture with its truth:
- reference: frame i of a clip warped to frame j's pose (`warp.prepare_reference` on frame i's
  exact person mask, `warp.warp_to_pose`), over frame i's background plate (`compose.person_hole` +
  `compose.background_plate`, OpenCV's Navier-Stokes: `--plate ns`), the holes in the warped person
  filled as `--repair holes` fills them (`compose.fill_holes`; `prefill=False` leaves them): the
  condition, as `--repair ilat` makes it;
- target: frame j itself (what the repaired frame should be);
- region: `compose.repair_region` of that warp (its trust threshold drawn around REPAIR_TRUST: 0 by
  default, so only what the warp could not draw);
- target_pose and reference_pose: frame j's pose (the warped picture already shows it).
Each sample is one tile, cut as `repair.repair` cuts its tiles at inference (`repair.tile_crop`):
a core of `repair.tile_side` (jittered) around a random pixel of the region, with context; the
sample's region is the repair region inside the core. Sample: {"reference", "target": float32
(3, S, S) in [-1, 1]; "reference_pose", "target_pose": float32 (13, 3) in crop pixels; "region":
bool (S, S)}. Pairs whose warp needs no repair (an empty region) are skipped.
"""
from __future__ import annotations

import numpy as np
import torch

from ..compose import (
    REPAIR_TRUST,
    background_plate,
    body_height,
    fill_holes,
    holes_in_person,
    person_hole,
    repair_region,
)
from ..crop import image_to_tensor
from ..errors import IlatError
from ..repair import TILE_CONTEXT, tile_crop, tile_region, tile_side
from ..warp import prepare_reference, warp_to_pose
from .synth.video import SPLITS, live_videos

STREAM_REPAIR = 8  # this dataset's own stream of frame/crop choices (inpaint_pairs uses 7)


class RepairPairs(torch.utils.data.IterableDataset):
    """An endless stream of repair samples (module docstring) from freshly rendered videos.

    size: model side S. split: "train" or "test". render_scale: videos are drawn at
    render_scale x S (the crop antialiases them down). references_per_video: reference frames
    prepared per clip; targets_per_reference: target poses each is warped to. trust: range the
    repair region's trust threshold is drawn from. side_jitter: the tile's side is `tile_side` x
    U(1 / j, j). context: range of the tile's context around its core. prefill: the condition's
    holes filled by OpenCV first, as inference does.
    """

    def __init__(self, size: int, *, split: str = "train", seed: int = 0, rank: int = 0, frames_per_video: int = 16,
                 references_per_video: int = 1, targets_per_reference: int = 3, render_scale: int = 2,
                 trust: tuple[float, float] = (0.6 * REPAIR_TRUST, 1.4 * REPAIR_TRUST),
                 side_jitter: float = 1.25, context: tuple[float, float] = (0.8 * TILE_CONTEXT, 1.2 * TILE_CONTEXT),
                 prefill: bool = True, max_videos: int | None = None):
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.size, self.split, self.seed, self.rank = int(size), split, int(seed), int(rank)
        self.frames_per_video = int(frames_per_video)
        self.references_per_video, self.targets_per_reference = int(references_per_video), int(targets_per_reference)
        self.render_scale, self.trust, self.context = int(render_scale), trust, context
        self.side_jitter, self.prefill = float(side_jitter), bool(prefill)
        self.max_videos = max_videos

    def __iter__(self):
        for video, rng in live_videos(self.seed, self.split, self.rank, STREAM_REPAIR, self.size * self.render_scale,
                                      self.frames_per_video, self.max_videos):
            yield from self.samples(video, rng)

    def samples(self, video, rng: np.random.Generator):
        """The samples of one video (see the module docstring)."""
        for _ in range(self.references_per_video):
            i = int(rng.integers(video.num_frames))
            layers = video.render_layers(i)
            try:
                reference = prepare_reference(layers.frame, layers.mask, video.poses[i])
            except IlatError:  # a person too small or cut by the frame edge to prepare: next clip
                return
            height = body_height(reference)
            # Navier-Stokes, not the default mixed plate: seconds a frame, and OpenCV's shift-map
            # patches are not reproducible on these small frames (the same input gives other
            # pixels after other calls), which a seeded dataset must be
            plate = background_plate(layers.frame, person_hole(layers.mask.astype(np.float32), height), method="ns")
            for _ in range(self.targets_per_reference):
                j = int(rng.integers(video.num_frames))
                pose = video.poses[j]
                warped = warp_to_pose(reference, pose)
                holes = holes_in_person(warped, height, pose)  # as the frames do: spaces between parts are no holes
                region = repair_region(warped, pose, height, trust=float(rng.uniform(*self.trust)), holes=holes)
                if not region.any():
                    continue
                ys, xs = np.nonzero(region)
                k = int(rng.integers(len(ys)))
                side = tile_side(height) * float(np.exp(rng.uniform(-1, 1) * np.log(self.side_jitter)))
                x0, y0 = xs[k] + 0.5 - rng.uniform(0, side), ys[k] + 0.5 - rng.uniform(0, side)
                crop = tile_crop(x0, y0, side, self.size, float(rng.uniform(*self.context)))
                in_tile = tile_region(crop, region, x0, y0, side)
                if not in_tile.any():
                    continue
                crop_pose = torch.from_numpy(crop.pose(pose).astype(np.float32))
                condition = warped.over(plate)
                if self.prefill:
                    condition = fill_holes(condition, warped, pose, height, holes=holes)
                yield {
                    "reference": image_to_tensor(crop.image(condition)),
                    "target": image_to_tensor(crop.image(video.render(j))),
                    "reference_pose": crop_pose,
                    "target_pose": crop_pose.clone(),
                    "region": torch.from_numpy(in_tile),
                }
