"""Synthetic people: articulated figures moving through parametric actions over static backgrounds.

Every video is one *identity* (body proportions, build, skin, hair, clothes), one *background*
and one *action* (walking, waving, squatting, jumping jacks, kicking, arm circles, bending) with
its own speed, amplitude and view angle. The ground truth joints come from the same kinematics
as the drawing, so every pose is exact.

    identity.py     who: proportions, build, skin, hair, clothes (`Identity`, `random_identity`)
    motion.py       how they move: joint angles per action (`Motion`, `random_motion`, `ACTIONS`)
    body.py         angles -> 3-D points -> pixels (`body_points`, `fit_placement`, `project`)
    backgrounds.py  static backgrounds (`random_background`)
    draw.py         one frame's person as filled shapes painted far to near, in colours
                    (`draw_person`) or as body part ids (`draw_parts`, `PART_NAMES`)
    video.py        one clip and its seed streams (`SynthVideo`, `file_video`, `live_video`);
                    `SynthVideo.render_layers` gives a frame with its exact targets (`FrameLayers`)
    penn_layout.py  clips on disk in the Penn Action layout (`write_penn_dataset`), with each
                    frame's person mask and part labels and the clip's background beside them
    stream.py       pair samples rendered on the fly (`SyntheticPairs`)

Randomness: each video's generator is seeded from (seed, split, video index) through
`np.random.SeedSequence`, so the output is deterministic per seed and the train and test splits
draw identities and backgrounds from disjoint streams.

Joint order and sides follow `ilat_video.pose.skeleton` (index 1 = the person's anatomical right
shoulder, which for a person facing the camera is on the image's left).
"""
from __future__ import annotations

from .backgrounds import random_background
from .body import POINT_NAMES, Placement, body_points, fit_placement, project
from .draw import PART_NAMES, draw_parts, draw_person
from .identity import Identity, random_identity
from .motion import ACTIONS, FPS, Motion, random_motion
from .penn_layout import video_labels, write_penn_dataset
from .stream import SyntheticPairs
from .video import SPLITS, FrameLayers, SynthVideo, file_video, live_video, make_video, video_rng

__all__ = [
    "ACTIONS", "FPS", "SPLITS", "POINT_NAMES", "Identity", "random_identity", "Motion", "random_motion",
    "body_points", "Placement", "fit_placement", "project", "random_background", "draw_person", "draw_parts",
    "PART_NAMES", "SynthVideo", "FrameLayers", "make_video", "file_video", "live_video", "video_rng", "video_labels",
    "write_penn_dataset", "SyntheticPairs",
]
