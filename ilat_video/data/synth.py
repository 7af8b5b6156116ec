"""Synthetic people: articulated figures moving through parametric actions over static backgrounds.

Every video is one *identity* (body proportions, build, skin, hair, clothes), one *background*
and one *action* (walking, waving, squatting, jumping jacks, kicking, arm circles, bending) with
its own speed, amplitude and view angle. The body is a 2.5-D puppet: joint angles -> 3-D joint
positions (forward kinematics, vectorized over frames) -> rotation about the vertical axis for
the view -> orthographic projection. Parts are filled shapes (capsules for limbs, a box hull for
the torso, discs for the head) painted far-to-near, so limbs occlude each other and the torso as
they would. The ground truth joints come from the same kinematics, so every pose is exact.

Randomness: each video's generator is seeded from (seed, split, video index) through
`np.random.SeedSequence`, so the output is deterministic per seed and the train and test splits
draw identities and backgrounds from disjoint streams.

Joint order and sides follow `ilat_video.pose.skeleton` (index 1 = the person's anatomical right
shoulder, which for a person facing the camera is on the image's left).
"""
from __future__ import annotations

import colorsys
import logging
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..pose import skeleton as sk

log = logging.getLogger(__name__)

ACTIONS: tuple[str, ...] = (
    "walking", "waving", "squatting", "jumping_jacks", "kicking", "arm_circles", "bending",
)
SPLITS = {"train": 1, "test": 2}
FPS = 30.0

# Key roots of the seed streams: one per use, so that no two uses can share a stream.
_STREAM_FILE = 0  # videos written to disk: (seed, split, _STREAM_FILE, index)
_STREAM_LIVE = 1  # SyntheticPairs: (seed, split, _STREAM_LIVE, rank, worker, counter)


def video_rng(seed: int, split: str, *key: int) -> np.random.Generator:
    """The generator of one video: a stream keyed by (seed, split, *key)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLITS[split], *map(int, key)]))


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """One synthetic person. Lengths are in units of a standard adult's standing height.

    Body: head_radius, neck, torso (shoulder line to hip line), shoulder_width and hip_width
    (between the joints), upper_arm, forearm, hand, thigh, shin, ankle_height, foot; widths
    (radii) arm_radius, leg_radius, torso_depth. stature scales how large the person is drawn.
    Looks: RGB colours, hair style, clothing cut and pattern.
    """

    head_radius: float
    neck: float
    torso: float
    shoulder_width: float
    hip_width: float
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shin: float
    ankle_height: float
    foot: float
    arm_radius: float
    leg_radius: float
    torso_depth: float
    stature: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str  # short, long, bun, bald
    shirt: tuple[int, int, int]
    sleeves: str  # short, long
    pattern: str  # solid, hstripes, vstripes, checks, dots
    pattern_color: tuple[int, int, int]
    pattern_count: int
    legwear: str  # pants, shorts, skirt
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]

    def as_vector(self) -> np.ndarray:
        """All numeric fields and colours as one float vector (to compare identities)."""
        values: list[float] = []
        for name, value in self.__dict__.items():
            if isinstance(value, (int, float)):
                values.append(float(value))
            elif isinstance(value, tuple):
                values.extend(float(v) for v in value)
        return np.array(values)


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def _skin(rng: np.random.Generator) -> tuple[int, int, int]:
    # From very light to very dark along a warm hue, with a little hue / saturation jitter.
    t = rng.uniform()
    light, dark = np.array([241, 204, 180]), np.array([78, 50, 36])
    base = light * (1 - t) + dark * t + rng.normal(0, 6, 3)
    return tuple(int(v) for v in np.clip(base, 0, 255))


_HAIR_COLOURS = ((20, 16, 14), (45, 30, 20), (85, 55, 35), (130, 90, 55), (205, 170, 110),
                 (150, 65, 30), (150, 150, 150), (230, 230, 225))


def _clothing_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    kind = rng.uniform()
    if kind < 0.2:  # neutrals: white, grey, black
        v = rng.choice([0.12, 0.35, 0.6, 0.9]) + rng.uniform(-0.05, 0.05)
        return _hsv(0, 0, v)
    return _hsv(rng.uniform(), rng.uniform(0.35, 0.95), rng.uniform(0.3, 0.95))


def _contrast(rng: np.random.Generator, colour: tuple[int, int, int]) -> tuple[int, int, int]:
    lum = 0.3 * colour[0] + 0.59 * colour[1] + 0.11 * colour[2]
    v = rng.uniform(0.05, 0.3) if lum > 128 else rng.uniform(0.8, 1.0)
    return _hsv(rng.uniform(), rng.uniform(0.0, 0.8), v)


def random_identity(rng: np.random.Generator) -> Identity:
    """Draw one person: proportions, build and looks."""
    def vary(value, spread):
        return value * math.exp(rng.normal(0.0, spread))

    build = math.exp(rng.normal(0.0, 0.18))  # slim .. broad
    child = rng.uniform() < 0.12  # a larger head relative to the body
    head = vary(0.066, 0.07) * (1.25 if child else 1.0)
    shirt = _clothing_colour(rng)
    hair_style = str(rng.choice(["short", "long", "bun", "bald"], p=[0.45, 0.35, 0.12, 0.08]))
    legwear = str(rng.choice(["pants", "shorts", "skirt"], p=[0.6, 0.25, 0.15]))
    return Identity(
        head_radius=head,
        neck=vary(0.035, 0.15),
        torso=vary(0.29, 0.06),
        shoulder_width=vary(0.22, 0.08) * build ** 0.5,
        hip_width=vary(0.115, 0.1) * build ** 0.3,
        upper_arm=vary(0.175, 0.06),
        forearm=vary(0.155, 0.06),
        hand=vary(0.07, 0.1),
        thigh=vary(0.245, 0.05),
        shin=vary(0.24, 0.05),
        ankle_height=0.04,
        foot=vary(0.1, 0.08),
        arm_radius=0.03 * build,
        leg_radius=0.043 * build,
        torso_depth=0.12 * build,
        stature=rng.uniform(0.82 if child else 0.9, 1.0),
        skin=_skin(rng),
        hair=_HAIR_COLOURS[int(rng.integers(len(_HAIR_COLOURS)))],
        hair_style=hair_style,
        shirt=shirt,
        sleeves=str(rng.choice(["short", "long"])),
        pattern=str(rng.choice(["solid", "hstripes", "vstripes", "checks", "dots"], p=[0.4, 0.2, 0.12, 0.14, 0.14])),
        pattern_color=_contrast(rng, shirt),
        pattern_count=int(rng.integers(3, 7)),
        legwear=legwear,
        pants=_clothing_colour(rng),
        shoes=_hsv(rng.uniform(), rng.uniform(0, 0.6), rng.uniform(0.05, 0.7)),
    )


# --------------------------------------------------------------------------------------------
# Motion: joint angles over time, then forward kinematics
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Motion:
    """Angles (radians) of one clip, each an array (T,). See `_direction` for the arm/leg angles.

    Segment directions are absolute in the torso frame (arms) or pelvis frame (legs), given by
    (frontal, forward): `frontal` turns the segment in the body's frontal plane away from
    hanging down (0 down, pi/2 sideways out, pi up), `forward` raises it towards the front.
    """

    action: str
    yaw: np.ndarray  # view: rotation about the vertical axis, 0 = facing the camera
    bend: np.ndarray  # upper body pitched forward at the hips
    lean: np.ndarray  # upper body tilted sideways
    arms: dict  # side -> dict(upper=(frontal, forward), lower=(frontal, forward))
    legs: dict  # side -> dict(upper=(frontal, forward), lower=(frontal, forward))
    jump: np.ndarray  # extra height above the ground (body units)
    travel: np.ndarray  # distance walked along the facing direction (body units)
    head_tilt: np.ndarray
    params: dict = field(default_factory=dict)  # speed, amplitude, ... (for labels and debugging)


def random_motion(rng: np.random.Generator, num_frames: int, action: str | None = None,
                  fps: float = FPS) -> Motion:
    """One clip's angles: a random action (or the one given) with random speed and amplitude."""
    if action is None:
        action = str(rng.choice(ACTIONS))
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    t = np.arange(num_frames, dtype=np.float64) / fps
    speed = rng.uniform(0.45, 1.1)  # cycles per second
    if action == "waving":
        speed *= 2.2  # a hand waves at 1-2.5 Hz, a body moves slower
    amplitude = rng.uniform(0.65, 1.15)
    phase = 2 * math.pi * (speed * t + rng.uniform())
    zeros = np.zeros(num_frames)
    deg = math.pi / 180

    # View: mostly from the front, sometimes three-quarter or side-on; a slow turn in some clips.
    yaw0 = rng.choice([-1, 1]) * abs(rng.normal(0, 30)) * deg
    if action == "walking" and rng.uniform() < 0.4:
        yaw0 = rng.choice([-1, 1]) * rng.uniform(55, 90) * deg
    elif action in ("bending", "squatting", "kicking") and rng.uniform() < 0.5:
        yaw0 = rng.choice([-1, 1]) * rng.uniform(35, 80) * deg  # these read best from the side
    yaw = yaw0 + rng.uniform(-15, 15) * deg * t / max(t[-1], 1e-6) * (rng.uniform() < 0.4)
    yaw = np.clip(yaw, -95 * deg, 95 * deg) + zeros

    # Rest pose with small per-clip variation and a little sway.
    sway = rng.uniform(0, 2 * math.pi)
    rest_arm = rng.uniform(4, 14) * deg
    arms = {side: dict(upper=[zeros + rest_arm, zeros + rng.uniform(-5, 8) * deg],
                       lower=[zeros + rest_arm * 0.7, zeros + rng.uniform(5, 25) * deg]) for side in "RL"}
    stance = rng.uniform(2, 7) * deg
    legs = {side: dict(upper=[zeros + stance, zeros.copy()], lower=[zeros + stance * 0.6, zeros.copy()])
            for side in "RL"}
    bend = zeros + rng.uniform(-3, 5) * deg
    lean = 2 * deg * np.sin(0.5 * phase + sway)
    head_tilt = zeros + rng.normal(0, 4) * deg
    jump = zeros.copy()
    travel = zeros.copy()
    a = amplitude
    s = np.sin(phase)
    c = np.cos(phase)
    side_one = str(rng.choice(["R", "L"]))
    side_two = "L" if side_one == "R" else "R"

    if action == "walking":
        swing = 28 * deg * a
        for sign, side in ((1, "R"), (-1, "L")):
            hip = sign * swing * s
            knee = 55 * deg * a * np.maximum(0, -np.sin(phase + (0 if sign > 0 else math.pi) - 0.9))
            legs[side]["upper"][1] = hip
            legs[side]["lower"][1] = hip - knee
            arm = -sign * 0.8 * swing * s
            arms[side]["upper"][1] = arm
            arms[side]["lower"][1] = arm + 20 * deg + 15 * deg * np.maximum(0, -sign * s)
        travel = rng.uniform(0.0, 0.25) * speed * t * 2.0
        bend = bend + 4 * deg
    elif action == "waving":
        both = rng.uniform() < 0.25
        for side in (side_one, side_two) if both else (side_one,):
            arms[side]["upper"] = [zeros + rng.uniform(100, 150) * deg, zeros + rng.uniform(0, 25) * deg]
            wave = (165 + 32 * a * s) * deg
            arms[side]["lower"] = [wave, zeros + rng.uniform(0, 20) * deg]
    elif action == "squatting":
        depth = 0.5 * (1 - c)  # 0 standing .. 1 down
        knee = 100 * deg * a * depth
        for side in "RL":
            legs[side]["upper"] = [zeros + rng.uniform(8, 18) * deg, knee * 0.9]
            legs[side]["lower"] = [zeros + 4 * deg, knee * 0.9 - knee * 1.05]
            raise_arms = 85 * deg * depth * (0.6 + 0.4 * a)
            arms[side]["upper"][1] = raise_arms
            arms[side]["lower"][1] = raise_arms + 5 * deg
        bend = bend + 35 * deg * a * depth
    elif action == "jumping_jacks":
        open_ = 0.5 * (1 - c)
        for side in "RL":
            arms[side]["upper"] = [(12 + 150 * a * open_) * deg, zeros + 6 * deg]
            arms[side]["lower"] = [(12 + 165 * a * open_) * deg, zeros + 10 * deg]
            legs[side]["upper"][0] = (3 + 22 * a * open_) * deg
            legs[side]["lower"][0] = (3 + 22 * a * open_) * deg
        jump = 0.06 * a * np.abs(np.sin(phase))
    elif action == "kicking":
        kick = np.maximum(0, s) ** 1.5
        legs[side_one]["upper"][1] = 80 * deg * a * kick - 10 * deg * (1 - kick)
        legs[side_one]["lower"][1] = legs[side_one]["upper"][1] - 60 * deg * (1 - kick) * (kick > 0.02)
        for side in "RL":
            arms[side]["upper"][0] = zeros + rng.uniform(25, 50) * deg
            arms[side]["lower"][0] = arms[side]["upper"][0] + 10 * deg
        bend = bend - 8 * deg * kick
    elif action == "arm_circles":
        big = rng.uniform() < 0.4
        radius = (55 if big else 22) * deg * a
        for side in "RL":
            arms[side]["upper"] = [90 * deg + radius * c, radius * s]
            arms[side]["lower"] = [90 * deg + 1.1 * radius * c, 1.1 * radius * s + 3 * deg]
    elif action == "bending":
        down = 0.5 * (1 - c)
        bend = bend + (20 + 60 * a) * deg * down
        for side in "RL":
            # Arms hang under gravity: in the torso frame "down" moves forward as the torso bends.
            arms[side]["upper"][1] = bend + 5 * deg
            arms[side]["lower"][1] = bend + 12 * deg
    params = dict(speed=float(speed), amplitude=float(amplitude), yaw=float(np.degrees(yaw0)),
                  side=side_one)
    return Motion(action=action, yaw=yaw, bend=bend, lean=lean, arms=arms, legs=legs, jump=jump,
                  travel=travel, head_tilt=head_tilt, params=params)


def _direction(frontal: np.ndarray, forward: np.ndarray, side: float) -> np.ndarray:
    """Unit vectors (T, 3) for segment angles: x = outward on `side` (+1 image-right ...), y up, z forward."""
    cf = np.cos(forward)
    return np.stack([side * cf * np.sin(frontal), -cf * np.cos(frontal), np.sin(forward)], axis=-1)


def _rot_x(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, K, 3) about the x axis by angle (T,): +angle moves +y towards +z (bows forward)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x, y * c - z * s, y * s + z * c], axis=-1)


def _rot_z(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, K, 3) about the z axis (towards the camera) by angle (T,)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x * c - y * s, x * s + y * c, z], axis=-1)


def _rot_y(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, K, 3) about the vertical axis by angle (T,): +angle turns the front to image-right."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([x * c + z * s, y, -x * s + z * c], axis=-1)


# Named 3-D points of the puppet, beyond the 13 joints: used for drawing and for the fit.
_EXTRA = ("neck_base", "head_top", "r_hand", "l_hand", "r_toe", "l_toe",
          "torso_sr_f", "torso_sl_f", "torso_hl_f", "torso_hr_f",
          "torso_sr_b", "torso_sl_b", "torso_hl_b", "torso_hr_b", "face_dir")
POINT_NAMES: tuple[str, ...] = sk.JOINT_NAMES + _EXTRA
P = {name: i for i, name in enumerate(POINT_NAMES)}


def body_points(identity: Identity, motion: Motion) -> np.ndarray:
    """3-D positions (T, K, 3) of all named points (`POINT_NAMES`), in body units.

    x: to the image's right, y: up (ground at 0), z: towards the camera. The person's right side
    is at -x when facing the camera (yaw 0).
    """
    ident = identity
    T = len(motion.yaw)
    K = len(POINT_NAMES)
    pts = np.zeros((T, K, 3))
    side_sign = {"R": -1.0, "L": 1.0}  # anatomical right is image-left when facing the camera

    # Pelvis frame: origin at the hip midpoint.
    for side, joint, knee, ankle, toe in (("R", sk.R_HIP, sk.R_KNEE, sk.R_ANKLE, "r_toe"),
                                          ("L", sk.L_HIP, sk.L_KNEE, sk.L_ANKLE, "l_toe")):
        sg = side_sign[side]
        hip = np.array([sg * ident.hip_width / 2, 0.0, 0.0])
        leg = motion.legs[side]
        thigh_dir = _direction(*leg["upper"], sg)
        shin_dir = _direction(*leg["lower"], sg)
        pts[:, joint] = hip
        pts[:, knee] = hip + ident.thigh * thigh_dir
        pts[:, ankle] = pts[:, knee] + ident.shin * shin_dir
        # The foot points forward, perpendicular to the shin in the sagittal plane.
        foot_dir = np.stack([np.zeros(T), -shin_dir[:, 2], np.abs(shin_dir[:, 1])], axis=-1)
        foot_dir /= np.linalg.norm(foot_dir, axis=-1, keepdims=True) + 1e-9
        pts[:, P[toe]] = pts[:, ankle] + ident.foot * foot_dir

    # Upper body in the torso frame (origin at the hip midpoint), then bent and leaned.
    up = np.array([0.0, ident.torso, 0.0])
    upper_idx = []
    shoulder_y = ident.torso
    for side, sh, el, wr, hand in (("R", sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST, "r_hand"),
                                   ("L", sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST, "l_hand")):
        sg = side_sign[side]
        shoulder = np.array([sg * ident.shoulder_width / 2, shoulder_y, 0.0])
        arm = motion.arms[side]
        upper_dir = _direction(*arm["upper"], sg)
        lower_dir = _direction(*arm["lower"], sg)
        pts[:, sh] = shoulder
        pts[:, el] = shoulder + ident.upper_arm * upper_dir
        pts[:, wr] = pts[:, el] + ident.forearm * lower_dir
        pts[:, P[hand]] = pts[:, wr] + ident.hand * 0.55 * lower_dir
        upper_idx += [sh, el, wr, P[hand]]
    # Head: neck straight up from the shoulder line, tilted sideways a little.
    tilt = motion.head_tilt[:, None]
    neck_base = up
    head_dir = np.stack([np.sin(tilt[:, 0]), np.cos(tilt[:, 0]), np.zeros(T)], axis=-1)
    pts[:, P["neck_base"]] = neck_base
    pts[:, sk.HEAD] = neck_base + (ident.neck + ident.head_radius) * head_dir
    pts[:, P["head_top"]] = neck_base + (ident.neck + 2 * ident.head_radius) * head_dir
    pts[:, P["face_dir"]] = pts[:, sk.HEAD] + np.array([0.0, 0.0, 1.0])
    d = ident.torso_depth / 2
    sw, hw = ident.shoulder_width / 2 + ident.arm_radius * 0.6, ident.hip_width / 2 + ident.leg_radius * 0.9
    for name, corner in (("torso_sr_f", (-sw, shoulder_y, d)), ("torso_sl_f", (sw, shoulder_y, d)),
                         ("torso_hl_f", (hw, 0.0, d)), ("torso_hr_f", (-hw, 0.0, d)),
                         ("torso_sr_b", (-sw, shoulder_y, -d)), ("torso_sl_b", (sw, shoulder_y, -d)),
                         ("torso_hl_b", (hw, 0.0, -d)), ("torso_hr_b", (-hw, 0.0, -d))):
        pts[:, P[name]] = corner
    upper_idx += [sk.HEAD, P["neck_base"], P["head_top"], P["face_dir"]] + [P[n] for n in _EXTRA[6:14]]
    upper = pts[:, upper_idx]
    upper = _rot_x(upper, motion.bend)
    upper = _rot_z(upper, motion.lean)
    pts[:, upper_idx] = upper

    # Feet on the ground (the lower foot point at 0), plus jumps; walk along the facing direction.
    lowest = np.minimum.reduce([pts[:, sk.R_ANKLE, 1] - ident.ankle_height, pts[:, sk.L_ANKLE, 1] - ident.ankle_height,
                                pts[:, P["r_toe"], 1] - 0.015, pts[:, P["l_toe"], 1] - 0.015])
    pts[..., 1] += (-lowest + motion.jump)[:, None]
    pts[..., 2] += motion.travel[:, None]
    pts = _rot_y(pts, motion.yaw)
    return pts


# --------------------------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------------------------
def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return np.array(_hsv(rng.uniform(), rng.uniform(0.0, 0.7), rng.uniform(0.2, 0.95)), dtype=np.float32)


def random_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static background, uint8 (size, size, 3): gradients, walls and floors, textures, shapes.

    Smooth parts are computed on a coarse grid and resized by Pillow, sharp ones from 1-D
    profiles, so a background costs about a millisecond at 256x256.
    """
    from PIL import Image, ImageDraw

    kind = rng.choice(["gradient", "room", "noise", "tiles"], p=[0.3, 0.35, 0.2, 0.15])
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size  # pixel centres in [0, 1]

    def u8(array):
        return np.clip(array, 0, 255).astype(np.uint8)

    if kind == "gradient":
        coarse = 16
        yy, xx = np.mgrid[0:coarse, 0:coarse].astype(np.float32) / (coarse - 1)
        angle = rng.uniform(0, 2 * math.pi)
        t = np.clip(0.5 + (xx - 0.5) * math.cos(angle) + (yy - 0.5) * math.sin(angle), 0, 1)[..., None]
        small = _random_colour(rng) * (1 - t) + _random_colour(rng) * t
        image = np.asarray(Image.fromarray(u8(small)).resize((size, size), Image.Resampling.BILINEAR))
    elif kind == "room":  # a wall with a vertical gradient above a floor: a function of y only
        horizon = rng.uniform(0.55, 0.85)
        wall_top, wall_bottom = _random_colour(rng), _random_colour(rng)
        floor = _random_colour(rng) * rng.uniform(0.5, 1.0)
        y = axis[:, None]
        t = y / horizon
        column = np.where(y < horizon, wall_top * (1 - t) + wall_bottom * t, floor * (0.8 + 0.4 * (y - horizon)))
        image = np.ascontiguousarray(np.broadcast_to(u8(column)[:, None, :], (size, size, 3)))
    elif kind == "noise":
        cells = int(rng.integers(3, 12))
        small = rng.integers(0, 256, (cells, cells), dtype=np.uint8)
        mask = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
        a, b = (Image.new("RGB", (size, size), tuple(int(v) for v in _random_colour(rng))) for _ in range(2))
        image = np.asarray(Image.composite(b, a, mask))
    else:  # tiles / stripes / checks
        period = rng.uniform(0.06, 0.25)
        a, b = _random_colour(rng), _random_colour(rng)
        b = a * 0.75 + b * 0.25
        band = np.floor(axis / period).astype(np.int64)
        if rng.uniform() < 0.5:
            t = (band[:, None] + band[None, :]) % 2
        elif rng.uniform() < 0.5:
            t = np.broadcast_to(band[None, :] % 2, (size, size))
        else:
            t = np.broadcast_to(band[:, None] % 2, (size, size))
        image = np.where(t[..., None] > 0, u8(b), u8(a))
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(0, 7))):
        colour = tuple(int(v) for v in _random_colour(rng))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.05, 0.45, 2) * size
        shape = rng.choice(["rect", "ellipse", "poly"])
        if shape == "rect":
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == "ellipse":
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            n = int(rng.integers(3, 6))
            angles = np.sort(rng.uniform(0, 2 * math.pi, n))
            draw.polygon([(x0 + w * (1 + math.cos(t)) / 2, y0 + h * (1 + math.sin(t)) / 2) for t in angles],
                         fill=colour)
    return np.asarray(pil)


# --------------------------------------------------------------------------------------------
# Placing the person in the frame
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Body units -> pixels: u = offset_x + scale * x, v = offset_y - scale * y."""

    scale: float
    offset_x: float
    offset_y: float


def _reach(identity: Identity) -> float:
    """Half-thickness margin (body units) around the named points: the widest part drawn."""
    return max(identity.head_radius * 1.15, identity.leg_radius * 1.2, identity.torso_depth * 0.6)


def fit_placement(rng: np.random.Generator, identity: Identity, points: np.ndarray, size: int,
                  *, margin: float = 0.04) -> Placement:
    """Scale and position so the person fills a good part of the frame and stays in view all clip.

    points: (T, K, 3) body points. The standing height is drawn at 0.62..0.86 of the frame
    (times the identity's stature), shrunk if the clip's motion would leave the frame.
    """
    reach = _reach(identity)
    xs = points[..., 0]
    ys = points[..., 1]
    x_min, x_max = xs.min() - reach, xs.max() + reach
    y_min, y_max = ys.min() - 0.02, ys.max() + reach
    standing = 2 * identity.head_radius + identity.neck + identity.torso + identity.thigh + identity.shin + identity.ankle_height
    scale = rng.uniform(0.62, 0.86) * identity.stature * size / standing
    usable = size * (1 - 2 * margin)
    scale = min(scale, usable / (x_max - x_min), usable / (y_max - y_min))
    lo_x, hi_x = margin * size - scale * x_min, (1 - margin) * size - scale * x_max
    lo_y, hi_y = margin * size + scale * y_max, (1 - margin) * size + scale * y_min
    offset_x = rng.uniform(lo_x, hi_x) if hi_x > lo_x else (lo_x + hi_x) / 2
    # Feet usually in the lower part of the frame (as in real footage), head never cut.
    offset_y = hi_y - (hi_y - lo_y) * rng.beta(1.2, 2.5) if hi_y > lo_y else (lo_y + hi_y) / 2
    return Placement(float(scale), float(offset_x), float(offset_y))


def project(points: np.ndarray, placement: Placement) -> np.ndarray:
    """(..., 3) body units -> (..., 3) pixels u, v and depth (body units, larger = nearer)."""
    out = np.empty_like(points)
    out[..., 0] = placement.offset_x + placement.scale * points[..., 0]
    out[..., 1] = placement.offset_y - placement.scale * points[..., 1]
    out[..., 2] = points[..., 2]
    return out


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------
def _capsule(draw, p0, p1, r0, r1, fill) -> None:
    """A tapered capsule from p0 (radius r0) to p1 (radius r1), filled."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    if length > 1e-6:
        nx, ny = -dy / length, dx / length
        draw.polygon([(x0 + nx * r0, y0 + ny * r0), (x1 + nx * r1, y1 + ny * r1),
                      (x1 - nx * r1, y1 - ny * r1), (x0 - nx * r0, y0 - ny * r0)], fill=fill)
    draw.ellipse((x0 - r0, y0 - r0, x0 + r0, y0 + r0), fill=fill)
    draw.ellipse((x1 - r1, y1 - r1, x1 + r1, y1 + r1), fill=fill)


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull (monotone chain) of a few 2-D points."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _lerp(a, b, t):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _torso_pattern(draw, quad, identity: Identity, unit: float) -> None:
    """Pattern on the torso's front face quad (shoulder-right, shoulder-left, hip-left, hip-right).

    Everything is a bilinear sub-quad of the face, so it moves and foreshortens with the body.
    """
    sr, sl, hl, hr = quad
    n = identity.pattern_count
    colour = identity.pattern_color

    def at(u, v):  # u across (right -> left), v down (shoulders -> hips)
        return _lerp(_lerp(sr, sl, u), _lerp(hr, hl, u), v)

    if identity.pattern == "hstripes":
        for k in range(n):
            v0, v1 = (k + 0.25) / n, (k + 0.65) / n
            draw.polygon([at(0, v0), at(1, v0), at(1, v1), at(0, v1)], fill=colour)
    elif identity.pattern == "vstripes":
        for k in range(n):
            u0, u1 = (k + 0.3) / n, (k + 0.7) / n
            draw.polygon([at(u0, 0), at(u1, 0), at(u1, 1), at(u0, 1)], fill=colour)
    elif identity.pattern == "checks":
        for i in range(n):
            for j in range(n):
                if (i + j) % 2 == 0:
                    u0, u1, v0, v1 = i / n, (i + 1) / n, j / n, (j + 1) / n
                    draw.polygon([at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)], fill=colour)
    elif identity.pattern == "dots":
        r = max(0.6, 0.22 * unit / n * 1.6)
        for i in range(n - 1):
            for j in range(n):
                x, y = at((i + 0.5 + 0.5 * (j % 2)) / n, (j + 0.5) / n)
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _shade(colour, factor):
    return tuple(int(min(255, max(0, c * factor))) for c in colour)


def draw_person(image, identity: Identity, px: np.ndarray, scale: float, *, mask_only: bool = False) -> None:
    """Paint one frame's person onto a PIL image (in place).

    px: (K, 3) projected points of this frame (pixels u, v, depth). scale: pixels per body unit.
    mask_only: paint every part white (for an 'L' image): the person's silhouette.
    """
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    ident = identity
    uv = [(float(p[0]), float(p[1])) for p in px]
    z = px[:, 2]
    arm_r = ident.arm_radius * scale
    leg_r = ident.leg_radius * scale
    skin, shirt, pants, shoes, hair = ident.skin, ident.shirt, ident.pants, ident.shoes, ident.hair
    if mask_only:
        skin = shirt = pants = shoes = hair = 255
    parts: list[tuple[float, Callable[[], None]]] = []  # (depth, paint)

    def limb(a, b, ra, rb, colour, bias):
        parts.append((float((z[a] + z[b]) / 2 + bias), lambda: _capsule(draw, uv[a], uv[b], ra, rb, colour)))

    torso_z = float(z[[sk.R_SHOULDER, sk.L_SHOULDER, sk.R_HIP, sk.L_HIP]].mean())
    # Legs: below the torso where they meet it, in front once they swing forward.
    thigh_colour = pants if ident.legwear in ("pants", "shorts") else skin
    shin_colour = pants if ident.legwear == "pants" else skin
    for hip, knee, ankle, toe in ((sk.R_HIP, sk.R_KNEE, sk.R_ANKLE, P["r_toe"]), (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE, P["l_toe"])):
        if ident.legwear == "shorts":
            mid = _lerp(uv[hip], uv[knee], 0.55)
            parts.append((float(z[hip] + z[knee]) / 2 - 0.06, lambda h=hip, k=knee: (
                _capsule(draw, uv[h], uv[k], leg_r, leg_r * 0.8, skin),)))
            parts.append((float(z[hip] + z[knee]) / 2 - 0.0599, lambda h=hip, m=mid: _capsule(draw, uv[h], m, leg_r * 1.08, leg_r * 1.0, pants)))
        else:
            limb(hip, knee, leg_r, leg_r * 0.82, thigh_colour, -0.06)
        limb(knee, ankle, leg_r * 0.8, leg_r * 0.6, shin_colour, -0.03)
        limb(ankle, toe, leg_r * 0.55, leg_r * 0.5, shoes, -0.029)
    # Arms: on top of the torso unless clearly behind it.
    forearm_colour = shirt if ident.sleeves == "long" else skin
    for sh, el, wr, hand in ((sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST, P["r_hand"]), (sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST, P["l_hand"])):
        if ident.sleeves == "short":
            limb(sh, el, arm_r, arm_r * 0.85, skin, 0.03)
            mid = _lerp(uv[sh], uv[el], 0.45)
            parts.append((float(z[sh] + z[el]) / 2 + 0.0301,
                          lambda s=sh, m=mid: _capsule(draw, uv[s], m, arm_r * 1.2, arm_r * 1.1, shirt)))
        else:
            limb(sh, el, arm_r * 1.05, arm_r * 0.9, shirt, 0.03)
        limb(el, wr, arm_r * 0.85, arm_r * 0.7, forearm_colour, 0.031)
        limb(wr, hand, arm_r * 0.75, arm_r * 0.8, skin, 0.032)

    # Torso: hull of the box corners; the pattern on the front face when it faces the camera.
    corners = [uv[P[n]] for n in _EXTRA[6:14]]
    front = [uv[P[n]] for n in ("torso_sr_f", "torso_sl_f", "torso_hl_f", "torso_hr_f")]
    front_z = float(np.mean([z[P[n]] for n in _EXTRA[6:10]]))
    back_z = float(np.mean([z[P[n]] for n in _EXTRA[10:14]]))

    def paint_torso():
        hull = _hull(corners)
        if ident.legwear != "skirt":  # trousers reach up to the waist under the shirt
            draw.polygon([_lerp(front[3], front[0], 0.0), _lerp(front[2], front[1], 0.0),
                          _lerp(front[2], front[1], 0.15), _lerp(front[3], front[0], 0.15)], fill=pants)
        draw.polygon(hull, fill=shirt)
        if not mask_only and ident.pattern != "solid" and front_z > back_z + 1e-3:
            _torso_pattern(draw, [front[0], front[1], _lerp(front[1], front[2], 0.92), _lerp(front[0], front[3], 0.92)],
                           ident, unit=ident.torso * scale)

    parts.append((torso_z, paint_torso))
    if ident.legwear == "skirt":
        def paint_skirt():
            hip_r, hip_l = uv[P["torso_hr_f"]], uv[P["torso_hl_f"]]
            flare = 0.25 * (leg_r * 2 + abs(hip_l[0] - hip_r[0]))
            bottom_r = _lerp(hip_r, uv[sk.R_KNEE], 0.75)
            bottom_l = _lerp(hip_l, uv[sk.L_KNEE], 0.75)
            sgn = 1 if bottom_l[0] >= bottom_r[0] else -1
            draw.polygon(_hull([hip_r, hip_l, (bottom_l[0] + sgn * flare, bottom_l[1]),
                                (bottom_r[0] - sgn * flare, bottom_r[1])]), fill=pants)
        parts.append((torso_z + 0.001, paint_skirt))

    # Head, neck and hair: always in front of the torso, long hair behind it.
    head = uv[sk.HEAD]
    head_r = ident.head_radius * scale
    facing = float(px[P["face_dir"], 0] - px[sk.HEAD, 0]) / max(scale, 1e-6)  # sin(yaw): -1 .. 1
    if ident.hair_style == "long":
        def paint_long_hair():
            x, y = head
            w = head_r * 1.05
            draw.rounded_rectangle((x - w - facing * head_r * 0.3, y - head_r * 0.2, x + w - facing * head_r * 0.3,
                                    y + head_r * 2.2), radius=head_r * 0.8, fill=hair)
        parts.append((back_z - 0.01, paint_long_hair))

    def paint_head():
        neck_base = uv[P["neck_base"]]
        _capsule(draw, neck_base, head, arm_r * 1.1, arm_r * 1.1, skin)
        x, y = head
        r = head_r
        if ident.hair_style != "bald":
            draw.ellipse((x - r * 1.08, y - r * 1.12, x + r * 1.08, y + r * 0.9), fill=hair)
        if ident.hair_style == "bun":
            bx = x - facing * r * 0.6
            draw.ellipse((bx - r * 0.45, y - r * 1.5, bx + r * 0.45, y - r * 0.6), fill=hair)
        # Face: skin, shifted towards where the person looks; the hair covers the top.
        fx = x + facing * r * 0.25
        top = y - r * (0.55 if ident.hair_style != "bald" else 1.0)
        draw.ellipse((fx - r * 0.92 * (1 - 0.15 * abs(facing)), top, fx + r * 0.92 * (1 - 0.15 * abs(facing)), y + r),
                     fill=skin)
        if not mask_only and r >= 3 and abs(facing) < 0.9:
            eye = max(0.5, r * 0.12)
            for dx in (-0.35, 0.35):
                ex = fx + (dx * (1 - abs(facing)) + facing * 0.3) * r
                ey = y + r * 0.05
                draw.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), fill=(25, 20, 20))
            mx = fx + facing * 0.35 * r
            draw.line([(mx - r * 0.22, y + r * 0.5), (mx + r * 0.22, y + r * 0.5)],
                      fill=_shade(ident.skin, 0.65), width=max(1, int(r * 0.08)))

    parts.append((max(torso_z, float(z[sk.HEAD])) + 0.02, paint_head))
    parts.sort(key=lambda item: item[0])
    for _, paint in parts:
        paint()


# --------------------------------------------------------------------------------------------
# Videos
# --------------------------------------------------------------------------------------------
@dataclass
class SynthVideo:
    """One synthetic clip, ready to render frame by frame.

    poses: float32 (T, 13, 3) ground-truth joints in pixels of the size x size frame (all
    visible, confidence 1). bboxes: float32 (T, 4) x0, y0, x1, y1 of the drawn person.
    """

    identity: Identity
    motion: Motion
    background: np.ndarray
    size: int
    placement: Placement
    points: np.ndarray  # (T, K, 3) projected: pixels and depth
    poses: np.ndarray
    bboxes: np.ndarray
    background_seed: int = 0

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def action(self) -> str:
        return self.motion.action

    @property
    def view(self) -> str:
        yaw = abs(self.motion.params["yaw"])
        return "front" if yaw < 35 else "side" if yaw > 60 else "front_side"

    def render(self, index: int, *, supersample: int = 1) -> np.ndarray:
        """Frame `index` as uint8 (size, size, 3) RGB.

        supersample: draw at k x the size and downscale with a box filter (smoother edges,
        about k^2 x the drawing cost).
        """
        from PIL import Image

        if supersample > 1:
            big = Image.fromarray(self.background).resize((self.size * supersample,) * 2, Image.Resampling.NEAREST)
            pts = self.points[index].copy()
            pts[:, :2] = (pts[:, :2] + 0.5) * supersample - 0.5
            draw_person(big, self.identity, pts, self.placement.scale * supersample)
            return np.asarray(big.reduce(supersample))
        image = Image.fromarray(self.background)
        draw_person(image, self.identity, self.points[index], self.placement.scale)
        return np.asarray(image)

    def render_mask(self, index: int) -> np.ndarray:
        """bool (size, size): the person's silhouette in frame `index`."""
        from PIL import Image

        image = Image.new("L", (self.size, self.size), 0)
        draw_person(image, self.identity, self.points[index], self.placement.scale, mask_only=True)
        return np.asarray(image) > 0


def make_video(rng: np.random.Generator, size: int, num_frames: int, *, action: str | None = None,
               background_rng: np.random.Generator | None = None) -> SynthVideo:
    """Draw one clip: identity, motion, background and placement (nothing is rendered yet).

    The background comes from `background_rng` when given (else from `rng`).
    """
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    identity = random_identity(rng)
    motion = random_motion(rng, num_frames, action)
    body = body_points(identity, motion)
    placement = fit_placement(rng, identity, body, size)
    points = project(body, placement)
    background = random_background(background_rng if background_rng is not None else rng, size)
    poses = np.ones((num_frames, sk.NUM_JOINTS, 3), dtype=np.float32)
    poses[..., :2] = points[:, : sk.NUM_JOINTS, :2]
    reach = _reach(identity) * placement.scale
    bboxes = np.stack([points[..., 0].min(1) - reach, points[..., 1].min(1) - reach,
                       points[..., 0].max(1) + reach, points[..., 1].max(1) + reach], axis=1)
    bboxes = np.clip(bboxes, 0, size - 1).astype(np.float32)
    return SynthVideo(identity, motion, background, size, placement, points, poses, bboxes)


def file_video(seed: int, split: str, index: int, size: int, num_frames: int, *,
               action: str | None = None) -> SynthVideo:
    """Video number `index` of the on-disk dataset of (seed, split): same arguments, same video."""
    rng = video_rng(seed, split, _STREAM_FILE, index)
    background_rng = video_rng(seed, split, _STREAM_FILE, index, 1)
    return make_video(rng, size, num_frames, action=action, background_rng=background_rng)


def live_video(seed: int, split: str, rank: int, worker: int, counter: int, size: int, num_frames: int) -> SynthVideo:
    """Video number `counter` of the stream of (seed, split, rank, worker) used by SyntheticPairs."""
    rng = video_rng(seed, split, _STREAM_LIVE, rank, worker, counter)
    background_rng = video_rng(seed, split, _STREAM_LIVE, rank, worker, counter, 1)
    return make_video(rng, size, num_frames, background_rng=background_rng)


# --------------------------------------------------------------------------------------------
# Writing the Penn Action layout
# --------------------------------------------------------------------------------------------
def video_labels(video: SynthVideo, train: bool) -> dict:
    """The Penn Action .mat fields of one clip (see data/README.md): x, y, visibility, bbox,
    dimensions [height width nframes], nframes, action, pose (view), train (1 / -1)."""
    T = video.num_frames
    return {
        "x": video.poses[..., 0].astype(np.float64),
        "y": video.poses[..., 1].astype(np.float64),
        "visibility": np.ones((T, sk.NUM_JOINTS), dtype=np.uint8),
        "bbox": video.bboxes.astype(np.float64),
        "dimensions": np.array([[video.size, video.size, T]], dtype=np.uint16),
        "nframes": np.array([[T]], dtype=np.int32),
        "action": np.array([video.action]),
        "pose": np.array([video.view]),
        "train": np.array([[1 if train else -1]], dtype=np.int32),
    }


def write_penn_dataset(out, *, videos: int, frames: int, size: int, seed: int = 0, split: str = "train",
                       test_videos: int = 0, supersample: int = 2, quality: int = 92,
                       progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Render synthetic clips into `out` in the Penn Action layout; returns the video ids written.

    out/frames/NNNN/000001.jpg ... and out/labels/NNNN.mat, NNNN = 0001, 0002, ...: `videos`
    clips of `split`, then `test_videos` more of the test split (so one folder can hold both).
    Video k of a split is the same for the same (seed, split, size, frames) whatever the other
    arguments. Each clip's folder and label are written under temporary names and renamed when
    complete, so an interrupted run leaves no half-written clip. `out` must not already hold a
    Penn layout with clips (refuses to mix datasets). progress(done_frames, total_frames).
    """
    import os
    from pathlib import Path

    import scipy.io
    from PIL import Image

    from ..errors import DatasetError
    from ..fileio import atomic_output

    if split not in SPLITS:
        raise DatasetError(f"split must be 'train' or 'test', got {split!r}")
    if videos < 0 or test_videos < 0 or videos + test_videos == 0:
        raise DatasetError("nothing to write: give at least one video")
    if frames < 2:
        raise DatasetError(f"{frames} frames per video: need at least 2 to make (reference, target) pairs")
    if size < 16:
        raise DatasetError(f"size {size}: frames must be at least 16 pixels")
    out = Path(out)
    labels_dir, frames_dir = out / "labels", out / "frames"
    if labels_dir.is_dir() and any(labels_dir.glob("*.mat")):
        raise DatasetError(f"{out}: already holds a dataset (labels/*.mat); choose an empty folder")
    labels_dir.mkdir(parents=True, exist_ok=True)
    frames_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(split, k) for k in range(videos)] + [("test", k) for k in range(test_videos)]
    total = len(jobs) * frames
    written = []
    for number, (job_split, k) in enumerate(jobs, start=1):
        video_id = f"{number:04d}"
        video = file_video(seed, job_split, k, size, frames)
        tmp_dir = frames_dir / f".{video_id}.part"
        tmp_dir.mkdir(exist_ok=True)
        for f in range(frames):
            Image.fromarray(video.render(f, supersample=supersample)).save(
                tmp_dir / f"{f + 1:06d}.jpg", quality=quality)
            if progress is not None:
                progress((number - 1) * frames + f + 1, total)
        with atomic_output(labels_dir / f"{video_id}.mat") as tmp:
            scipy.io.savemat(tmp, video_labels(video, job_split == "train"))
        os.replace(tmp_dir, frames_dir / video_id)
        written.append(video_id)
        log.info("wrote synthetic video %s (%s, %s, %d frames)", video_id, job_split, video.action, frames)
    return written


# --------------------------------------------------------------------------------------------
# Streamed pairs
# --------------------------------------------------------------------------------------------
import torch  # noqa: E402  (only the streamed dataset needs it)

_STREAM_PAIRS = 2  # pair choice and crop jitter of a live video


class SyntheticPairs(torch.utils.data.IterableDataset):
    """An endless stream of pair samples (see `pairs.py`) from freshly rendered synthetic videos.

    Every video is new: its generator is keyed by (seed, split, rank, DataLoader worker, counter),
    so ranks and workers never repeat each other and no clip comes twice. Videos are rendered at
    render_scale x size and cropped to size by the same code as the other datasets (the square
    around the person over the whole clip), which also antialiases them.

    size: output side S. split: "train" or "test" (disjoint identity and background streams).
    frames_per_video: clip length T the pair is drawn from. pairs_per_video: samples per clip.
    max_videos: stop after that many videos per worker (None = endless).
    Sample: {"reference", "target": float32 (3, S, S) in [-1, 1]; "reference_pose", "target_pose":
    float32 (13, 3) in crop pixels; "region": bool (S, S)}.
    """

    def __init__(self, size: int, *, split: str = "train", seed: int = 0, rank: int = 0, world_size: int = 1,
                 frames_per_video: int = 32, pairs_per_video: int = 1, render_scale: int = 2,
                 margin: float = 0.12, scale_jitter: float = 0.08, shift_jitter: float = 0.04,
                 max_videos: int | None = None) -> None:
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank {rank} of {world_size}")
        if frames_per_video < 2 or pairs_per_video < 1 or size < 16 or render_scale < 1:
            raise ValueError("need size >= 16, frames_per_video >= 2, pairs_per_video >= 1, render_scale >= 1")
        self.size = int(size)
        self.split = split
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.frames_per_video = int(frames_per_video)
        self.pairs_per_video = int(pairs_per_video)
        self.render_scale = int(render_scale)
        self.margin = float(margin)
        self.scale_jitter = float(scale_jitter)
        self.shift_jitter = float(shift_jitter)
        self.max_videos = max_videos

    def __iter__(self):
        from .pairs import make_pair_sample, person_box, sample_pair_indices, square_crop_box

        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        render_size = self.size * self.render_scale
        counter = 0
        while self.max_videos is None or counter < self.max_videos:
            video = live_video(self.seed, self.split, self.rank, worker, counter, render_size, self.frames_per_video)
            rng = video_rng(self.seed, self.split, _STREAM_PAIRS, self.rank, worker, counter)
            box = square_crop_box(person_box(video.poses, video.bboxes), render_size, render_size,
                                  margin=self.margin, rng=rng, scale_jitter=self.scale_jitter,
                                  shift_jitter=self.shift_jitter)
            for _ in range(self.pairs_per_video):
                i, j = sample_pair_indices(rng, video.num_frames)
                yield make_pair_sample(video.render(i), video.render(j), video.poses[i], video.poses[j], box, self.size)
            counter += 1
