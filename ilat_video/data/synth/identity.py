"""Who the synthetic person is: body proportions, build, skin, hair and clothes, drawn per video."""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np


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


def hsv_colour(h: float, s: float, v: float) -> tuple[int, int, int]:
    """An RGB uint8 triple from hue (wraps around), saturation and value (clipped to [0, 1])."""
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
        return hsv_colour(0, 0, v)
    return hsv_colour(rng.uniform(), rng.uniform(0.35, 0.95), rng.uniform(0.3, 0.95))


def _contrast(rng: np.random.Generator, colour: tuple[int, int, int]) -> tuple[int, int, int]:
    lum = 0.3 * colour[0] + 0.59 * colour[1] + 0.11 * colour[2]
    v = rng.uniform(0.05, 0.3) if lum > 128 else rng.uniform(0.8, 1.0)
    return hsv_colour(rng.uniform(), rng.uniform(0.0, 0.8), v)


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
        shoes=hsv_colour(rng.uniform(), rng.uniform(0, 0.6), rng.uniform(0.05, 0.7)),
    )
