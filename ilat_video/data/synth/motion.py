"""How the synthetic person moves: joint angles over time for each parametric action.

An action is a rest pose (arms hanging, a small stance, a little sway) plus the motion of one
action written over it: walking, waving, squatting, jumping jacks, kicking, arm circles, bending.
Each draws its own speed, amplitude and view angle. `body.body_points` turns the angles into 3-D
points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ACTIONS: tuple[str, ...] = (
    "walking", "waving", "squatting", "jumping_jacks", "kicking", "arm_circles", "bending",
)
FPS = 30.0

_DEG = math.pi / 180


@dataclass(frozen=True)
class Motion:
    """Angles (radians) of one clip, each an array (T,). See `body.direction` for the arm/leg angles.

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


@dataclass
class _Cycle:
    """The timing of one clip: time t (T,) in seconds, the action's phase, sin and cos of it."""

    t: np.ndarray
    phase: np.ndarray
    s: np.ndarray
    c: np.ndarray
    amplitude: float
    speed: float
    zeros: np.ndarray


@dataclass
class _Pose:
    """The angles an action writes over the rest pose (arms and legs are changed in place)."""

    arms: dict
    legs: dict
    bend: np.ndarray
    lean: np.ndarray
    head_tilt: np.ndarray
    jump: np.ndarray
    travel: np.ndarray


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
    yaw0, yaw = _view(rng, action, t, zeros)
    pose = _rest_pose(rng, phase, zeros)
    cycle = _Cycle(t, phase, np.sin(phase), np.cos(phase), amplitude, speed, zeros)
    side_one = str(rng.choice(["R", "L"]))
    _ACTION_MOVES[action](rng, pose, cycle, side_one)
    params = dict(speed=float(speed), amplitude=float(amplitude), yaw=float(np.degrees(yaw0)),
                  side=side_one)
    return Motion(action=action, yaw=yaw, bend=pose.bend, lean=pose.lean, arms=pose.arms, legs=pose.legs,
                  jump=pose.jump, travel=pose.travel, head_tilt=pose.head_tilt, params=params)


def _view(rng: np.random.Generator, action: str, t: np.ndarray, zeros: np.ndarray) -> tuple[float, np.ndarray]:
    """The clip's starting yaw and its yaw over time (T,).

    Mostly from the front, sometimes three-quarter or side-on; a slow turn in some clips.
    """
    deg = _DEG
    yaw0 = rng.choice([-1, 1]) * abs(rng.normal(0, 30)) * deg
    if action == "walking" and rng.uniform() < 0.4:
        yaw0 = rng.choice([-1, 1]) * rng.uniform(55, 90) * deg
    elif action in ("bending", "squatting", "kicking") and rng.uniform() < 0.5:
        yaw0 = rng.choice([-1, 1]) * rng.uniform(35, 80) * deg  # these read best from the side
    yaw = yaw0 + rng.uniform(-15, 15) * deg * t / max(t[-1], 1e-6) * (rng.uniform() < 0.4)
    yaw = np.clip(yaw, -95 * deg, 95 * deg) + zeros
    return yaw0, yaw


def _rest_pose(rng: np.random.Generator, phase: np.ndarray, zeros: np.ndarray) -> _Pose:
    """Rest pose with small per-clip variation and a little sway."""
    deg = _DEG
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
    return _Pose(arms=arms, legs=legs, bend=bend, lean=lean, head_tilt=head_tilt, jump=zeros.copy(),
                 travel=zeros.copy())


# --- the actions: each writes its motion over the rest pose -----------------------------------------
def _walking(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a, s = _DEG, cycle.amplitude, cycle.s
    swing = 28 * deg * a
    for sign, side in ((1, "R"), (-1, "L")):
        hip = sign * swing * s
        knee = 55 * deg * a * np.maximum(0, -np.sin(cycle.phase + (0 if sign > 0 else math.pi) - 0.9))
        pose.legs[side]["upper"][1] = hip
        pose.legs[side]["lower"][1] = hip - knee
        arm = -sign * 0.8 * swing * s
        pose.arms[side]["upper"][1] = arm
        pose.arms[side]["lower"][1] = arm + 20 * deg + 15 * deg * np.maximum(0, -sign * s)
    pose.travel = rng.uniform(0.0, 0.25) * cycle.speed * cycle.t * 2.0
    pose.bend = pose.bend + 4 * deg


def _waving(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a, s, zeros = _DEG, cycle.amplitude, cycle.s, cycle.zeros
    side_two = "L" if side_one == "R" else "R"
    both = rng.uniform() < 0.25
    for side in (side_one, side_two) if both else (side_one,):
        pose.arms[side]["upper"] = [zeros + rng.uniform(100, 150) * deg, zeros + rng.uniform(0, 25) * deg]
        wave = (165 + 32 * a * s) * deg
        pose.arms[side]["lower"] = [wave, zeros + rng.uniform(0, 20) * deg]


def _squatting(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a, zeros = _DEG, cycle.amplitude, cycle.zeros
    depth = 0.5 * (1 - cycle.c)  # 0 standing .. 1 down
    knee = 100 * deg * a * depth
    for side in "RL":
        pose.legs[side]["upper"] = [zeros + rng.uniform(8, 18) * deg, knee * 0.9]
        pose.legs[side]["lower"] = [zeros + 4 * deg, knee * 0.9 - knee * 1.05]
        raise_arms = 85 * deg * depth * (0.6 + 0.4 * a)
        pose.arms[side]["upper"][1] = raise_arms
        pose.arms[side]["lower"][1] = raise_arms + 5 * deg
    pose.bend = pose.bend + 35 * deg * a * depth


def _jumping_jacks(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a, zeros = _DEG, cycle.amplitude, cycle.zeros
    open_ = 0.5 * (1 - cycle.c)
    for side in "RL":
        pose.arms[side]["upper"] = [(12 + 150 * a * open_) * deg, zeros + 6 * deg]
        pose.arms[side]["lower"] = [(12 + 165 * a * open_) * deg, zeros + 10 * deg]
        pose.legs[side]["upper"][0] = (3 + 22 * a * open_) * deg
        pose.legs[side]["lower"][0] = (3 + 22 * a * open_) * deg
    pose.jump = 0.06 * a * np.abs(np.sin(cycle.phase))


def _kicking(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a, zeros = _DEG, cycle.amplitude, cycle.zeros
    kick = np.maximum(0, cycle.s) ** 1.5
    legs = pose.legs[side_one]
    legs["upper"][1] = 80 * deg * a * kick - 10 * deg * (1 - kick)
    legs["lower"][1] = legs["upper"][1] - 60 * deg * (1 - kick) * (kick > 0.02)
    for side in "RL":
        pose.arms[side]["upper"][0] = zeros + rng.uniform(25, 50) * deg
        pose.arms[side]["lower"][0] = pose.arms[side]["upper"][0] + 10 * deg
    pose.bend = pose.bend - 8 * deg * kick


def _arm_circles(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a, s, c = _DEG, cycle.amplitude, cycle.s, cycle.c
    big = rng.uniform() < 0.4
    radius = (55 if big else 22) * deg * a
    for side in "RL":
        pose.arms[side]["upper"] = [90 * deg + radius * c, radius * s]
        pose.arms[side]["lower"] = [90 * deg + 1.1 * radius * c, 1.1 * radius * s + 3 * deg]


def _bending(rng: np.random.Generator, pose: _Pose, cycle: _Cycle, side_one: str) -> None:
    deg, a = _DEG, cycle.amplitude
    down = 0.5 * (1 - cycle.c)
    pose.bend = pose.bend + (20 + 60 * a) * deg * down
    for side in "RL":
        # Arms hang under gravity: in the torso frame "down" moves forward as the torso bends.
        pose.arms[side]["upper"][1] = pose.bend + 5 * deg
        pose.arms[side]["lower"][1] = pose.bend + 12 * deg


_ACTION_MOVES = {
    "walking": _walking, "waving": _waving, "squatting": _squatting, "jumping_jacks": _jumping_jacks,
    "kicking": _kicking, "arm_circles": _arm_circles, "bending": _bending,
}
