"""Drawing one frame of the synthetic person: filled shapes painted far to near.

Parts are filled shapes (capsules for limbs, a box hull for the torso, discs for the head) painted
far-to-near, so limbs occlude each other and the torso as they would. `person_strokes` lists the
shapes of one frame once, each with the body part it belongs to and the material that fills it;
`draw_person` paints them in the identity's colours and `draw_parts` paints the same shapes in
the same order with their part's id, so the labels cover exactly the pixels the person covers.

Body part ids (`PART_NAMES[id]`; right and left are anatomical, as in `ilat_video.pose.skeleton`):

    0 background        1 head (with neck and hair)   2 torso (shirt, waistband, skirt)
    3 right upper arm   4 left upper arm              5 right lower arm   6 left lower arm
    7 right hand        8 left hand                   9 right upper leg  10 left upper leg
    11 right lower leg  12 left lower leg             13 right foot      14 left foot (shoes)

`PART_POINTS` names the points (`body.POINT_NAMES`) each part is drawn between.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ...pose import skeleton as sk
from .body import P, TORSO_BACK, TORSO_FRONT
from .identity import Identity

# Body parts, anatomical sides as in ilat_video.pose.skeleton; id 0 is "no part".
PART_NAMES: tuple[str, ...] = (
    "background", "head", "torso", "right_upper_arm", "left_upper_arm", "right_lower_arm", "left_lower_arm",
    "right_hand", "left_hand", "right_upper_leg", "left_upper_leg", "right_lower_leg", "left_lower_leg",
    "right_foot", "left_foot",
)
PART = {name: i for i, name in enumerate(PART_NAMES)}
# The named points each part is drawn around (the torso: its box; the head: neck base to head centre).
PART_POINTS: dict[str, tuple[str, ...]] = {
    "head": ("neck_base", "head"), "torso": TORSO_FRONT + TORSO_BACK,
    "right_upper_arm": ("right_shoulder", "right_elbow"), "left_upper_arm": ("left_shoulder", "left_elbow"),
    "right_lower_arm": ("right_elbow", "right_wrist"), "left_lower_arm": ("left_elbow", "left_wrist"),
    "right_hand": ("right_wrist", "r_hand"), "left_hand": ("left_wrist", "l_hand"),
    "right_upper_leg": ("right_hip", "right_knee"), "left_upper_leg": ("left_hip", "left_knee"),
    "right_lower_leg": ("right_knee", "right_ankle"), "left_lower_leg": ("left_knee", "left_ankle"),
    "right_foot": ("right_ankle", "r_toe"), "left_foot": ("left_ankle", "l_toe"),
}

# What fills a stroke: one of the identity's colours, or the eyes' and mouth's.
MATERIALS = ("skin", "shirt", "pants", "shoes", "hair", "pattern", "eyes", "mouth")
_EYES = (25, 20, 20)


@dataclass(frozen=True)
class Stroke:
    """One filled shape of the person.

    part: id in PART_NAMES. material: one of MATERIALS. shape and geometry (pixels):
    "capsule" (p0, p1, r0, r1); "polygon" [points]; "ellipse" (x0, y0, x1, y1);
    "rounded_rectangle" ((x0, y0, x1, y1), radius); "line" ([points], width).
    """

    part: int
    material: str
    shape: str
    geometry: tuple | list


def draw_person(image: Image.Image, identity: Identity, px: np.ndarray, scale: float) -> None:
    """Paint one frame's person onto an RGB PIL image (in place).

    px: (K, 3) projected points of this frame (pixels u, v, depth). scale: pixels per body unit.
    """
    colours = {"skin": identity.skin, "shirt": identity.shirt, "pants": identity.pants, "shoes": identity.shoes,
               "hair": identity.hair, "pattern": identity.pattern_color, "eyes": _EYES,
               "mouth": _shade(identity.skin, 0.65)}
    draw = ImageDraw.Draw(image)
    for stroke in person_strokes(identity, px, scale):
        _paint(draw, stroke, colours[stroke.material])


def draw_parts(image: Image.Image, identity: Identity, px: np.ndarray, scale: float) -> None:
    """Paint one frame's person onto an 'L' PIL image as body part ids (PART_NAMES), in place.

    The same strokes in the same order as `draw_person` (details included), so a pixel gets a
    part id exactly where `draw_person` paints it, and the id of the part painted there last.
    """
    draw = ImageDraw.Draw(image)
    for stroke in person_strokes(identity, px, scale):
        _paint(draw, stroke, stroke.part)


def person_strokes(identity: Identity, px: np.ndarray, scale: float) -> list[Stroke]:
    """The shapes of one frame's person in painting order (far to near).

    px: (K, 3) projected points (pixels u, v, depth). scale: pixels per body unit.
    """
    uv = [(float(p[0]), float(p[1])) for p in px]
    z = px[:, 2]
    layers = (_leg_layers(identity, uv, z, identity.leg_radius * scale)
              + _arm_layers(identity, uv, z, identity.arm_radius * scale)
              + _torso_layers(identity, uv, z, scale)
              + _head_layers(identity, px, uv, z, scale))
    layers.sort(key=lambda item: item[0])  # stable: equal depths keep the order above
    return [stroke for _, strokes in layers for stroke in strokes]


# A layer: (depth, the strokes painted together at that depth); larger depth = nearer, painted later.
_Layer = tuple[float, list[Stroke]]


def _limb(uv, z, a: int, b: int, ra: float, rb: float, part: int, material: str, bias: float) -> _Layer:
    return float((z[a] + z[b]) / 2 + bias), [Stroke(part, material, "capsule", (uv[a], uv[b], ra, rb))]


def _leg_layers(ident: Identity, uv, z, leg_r: float) -> list[_Layer]:
    """Legs: below the torso where they meet it, in front once they swing forward."""
    layers = []
    thigh_colour = "pants" if ident.legwear in ("pants", "shorts") else "skin"
    shin_colour = "pants" if ident.legwear == "pants" else "skin"
    for side, hip, knee, ankle, toe in (("right", sk.R_HIP, sk.R_KNEE, sk.R_ANKLE, P["r_toe"]),
                                        ("left", sk.L_HIP, sk.L_KNEE, sk.L_ANKLE, P["l_toe"])):
        upper, lower, foot = PART[f"{side}_upper_leg"], PART[f"{side}_lower_leg"], PART[f"{side}_foot"]
        if ident.legwear == "shorts":
            mid = _lerp(uv[hip], uv[knee], 0.55)
            layers.append((float(z[hip] + z[knee]) / 2 - 0.06,
                           [Stroke(upper, "skin", "capsule", (uv[hip], uv[knee], leg_r, leg_r * 0.8))]))
            layers.append((float(z[hip] + z[knee]) / 2 - 0.0599,
                           [Stroke(upper, "pants", "capsule", (uv[hip], mid, leg_r * 1.08, leg_r * 1.0))]))
        else:
            layers.append(_limb(uv, z, hip, knee, leg_r, leg_r * 0.82, upper, thigh_colour, -0.06))
        layers.append(_limb(uv, z, knee, ankle, leg_r * 0.8, leg_r * 0.6, lower, shin_colour, -0.03))
        layers.append(_limb(uv, z, ankle, toe, leg_r * 0.55, leg_r * 0.5, foot, "shoes", -0.029))
    return layers


def _arm_layers(ident: Identity, uv, z, arm_r: float) -> list[_Layer]:
    """Arms: on top of the torso unless clearly behind it."""
    layers = []
    forearm_colour = "shirt" if ident.sleeves == "long" else "skin"
    for side, sh, el, wr, hand in (("right", sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST, P["r_hand"]),
                                   ("left", sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST, P["l_hand"])):
        upper, lower, hand_part = PART[f"{side}_upper_arm"], PART[f"{side}_lower_arm"], PART[f"{side}_hand"]
        if ident.sleeves == "short":
            layers.append(_limb(uv, z, sh, el, arm_r, arm_r * 0.85, upper, "skin", 0.03))
            mid = _lerp(uv[sh], uv[el], 0.45)
            layers.append((float(z[sh] + z[el]) / 2 + 0.0301,
                           [Stroke(upper, "shirt", "capsule", (uv[sh], mid, arm_r * 1.2, arm_r * 1.1))]))
        else:
            layers.append(_limb(uv, z, sh, el, arm_r * 1.05, arm_r * 0.9, upper, "shirt", 0.03))
        layers.append(_limb(uv, z, el, wr, arm_r * 0.85, arm_r * 0.7, lower, forearm_colour, 0.031))
        layers.append(_limb(uv, z, wr, hand, arm_r * 0.75, arm_r * 0.8, hand_part, "skin", 0.032))
    return layers


def _torso_layers(ident: Identity, uv, z, scale: float) -> list[_Layer]:
    """Torso: hull of the box corners; the pattern on the front face when it faces the camera."""
    torso = PART["torso"]
    torso_z = float(z[[sk.R_SHOULDER, sk.L_SHOULDER, sk.R_HIP, sk.L_HIP]].mean())
    front = [uv[P[n]] for n in TORSO_FRONT]
    front_z = float(np.mean([z[P[n]] for n in TORSO_FRONT]))
    back_z = float(np.mean([z[P[n]] for n in TORSO_BACK]))
    strokes = []
    if ident.legwear != "skirt":  # trousers reach up to the waist under the shirt
        strokes.append(Stroke(torso, "pants", "polygon", [
            _lerp(front[3], front[0], 0.0), _lerp(front[2], front[1], 0.0),
            _lerp(front[2], front[1], 0.15), _lerp(front[3], front[0], 0.15)]))
    strokes.append(Stroke(torso, "shirt", "polygon", _hull([uv[P[n]] for n in TORSO_FRONT + TORSO_BACK])))
    if ident.pattern != "solid" and front_z > back_z + 1e-3:
        quad = [front[0], front[1], _lerp(front[1], front[2], 0.92), _lerp(front[0], front[3], 0.92)]
        strokes += _torso_pattern(quad, ident, unit=ident.torso * scale)
    layers = [(torso_z, strokes)]
    if ident.legwear == "skirt":
        leg_r = ident.leg_radius * scale
        hip_r, hip_l = uv[P["torso_hr_f"]], uv[P["torso_hl_f"]]
        flare = 0.25 * (leg_r * 2 + abs(hip_l[0] - hip_r[0]))
        bottom_r = _lerp(hip_r, uv[sk.R_KNEE], 0.75)
        bottom_l = _lerp(hip_l, uv[sk.L_KNEE], 0.75)
        sgn = 1 if bottom_l[0] >= bottom_r[0] else -1
        skirt = _hull([hip_r, hip_l, (bottom_l[0] + sgn * flare, bottom_l[1]),
                       (bottom_r[0] - sgn * flare, bottom_r[1])])
        layers.append((torso_z + 0.001, [Stroke(torso, "pants", "polygon", skirt)]))
    return layers


def _head_layers(ident: Identity, px: np.ndarray, uv, z, scale: float) -> list[_Layer]:
    """Head, neck and hair: always in front of the torso, long hair behind it."""
    head_part = PART["head"]
    torso_z = float(z[[sk.R_SHOULDER, sk.L_SHOULDER, sk.R_HIP, sk.L_HIP]].mean())
    back_z = float(np.mean([z[P[n]] for n in TORSO_BACK]))
    x, y = uv[sk.HEAD]
    r = ident.head_radius * scale
    facing = float(px[P["face_dir"], 0] - px[sk.HEAD, 0]) / max(scale, 1e-6)  # sin(yaw): -1 .. 1
    layers = []
    if ident.hair_style == "long":
        w = r * 1.05
        box = (x - w - facing * r * 0.3, y - r * 0.2, x + w - facing * r * 0.3, y + r * 2.2)
        layers.append((back_z - 0.01, [Stroke(head_part, "hair", "rounded_rectangle", (box, r * 0.8))]))
    arm_r = ident.arm_radius * scale
    strokes = [Stroke(head_part, "skin", "capsule", (uv[P["neck_base"]], (x, y), arm_r * 1.1, arm_r * 1.1))]
    if ident.hair_style != "bald":
        strokes.append(Stroke(head_part, "hair", "ellipse", (x - r * 1.08, y - r * 1.12, x + r * 1.08, y + r * 0.9)))
    if ident.hair_style == "bun":
        bx = x - facing * r * 0.6
        strokes.append(Stroke(head_part, "hair", "ellipse", (bx - r * 0.45, y - r * 1.5, bx + r * 0.45, y - r * 0.6)))
    # Face: skin, shifted towards where the person looks; the hair covers the top.
    fx = x + facing * r * 0.25
    top = y - r * (0.55 if ident.hair_style != "bald" else 1.0)
    half = r * 0.92 * (1 - 0.15 * abs(facing))
    strokes.append(Stroke(head_part, "skin", "ellipse", (fx - half, top, fx + half, y + r)))
    if r >= 3 and abs(facing) < 0.9:
        eye = max(0.5, r * 0.12)
        for dx in (-0.35, 0.35):
            ex = fx + (dx * (1 - abs(facing)) + facing * 0.3) * r
            ey = y + r * 0.05
            strokes.append(Stroke(head_part, "eyes", "ellipse", (ex - eye, ey - eye, ex + eye, ey + eye)))
        mx = fx + facing * 0.35 * r
        strokes.append(Stroke(head_part, "mouth", "line",
                              ([(mx - r * 0.22, y + r * 0.5), (mx + r * 0.22, y + r * 0.5)], max(1, int(r * 0.08)))))
    layers.append((max(torso_z, float(z[sk.HEAD])) + 0.02, strokes))
    return layers


def _torso_pattern(quad, identity: Identity, unit: float) -> list[Stroke]:
    """Pattern on the torso's front face quad (shoulder-right, shoulder-left, hip-left, hip-right).

    Everything is a bilinear sub-quad of the face, so it moves and foreshortens with the body.
    """
    sr, sl, hl, hr = quad
    n = identity.pattern_count
    torso = PART["torso"]

    def at(u, v):  # u across (right -> left), v down (shoulders -> hips)
        return _lerp(_lerp(sr, sl, u), _lerp(hr, hl, u), v)

    def quad_stroke(u0, u1, v0, v1):
        return Stroke(torso, "pattern", "polygon", [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)])

    strokes = []
    if identity.pattern == "hstripes":
        strokes = [quad_stroke(0, 1, (k + 0.25) / n, (k + 0.65) / n) for k in range(n)]
    elif identity.pattern == "vstripes":
        strokes = [quad_stroke((k + 0.3) / n, (k + 0.7) / n, 0, 1) for k in range(n)]
    elif identity.pattern == "checks":
        strokes = [quad_stroke(i / n, (i + 1) / n, j / n, (j + 1) / n)
                   for i in range(n) for j in range(n) if (i + j) % 2 == 0]
    elif identity.pattern == "dots":
        r = max(0.6, 0.22 * unit / n * 1.6)
        for i in range(n - 1):
            for j in range(n):
                x, y = at((i + 0.5 + 0.5 * (j % 2)) / n, (j + 0.5) / n)
                strokes.append(Stroke(torso, "pattern", "ellipse", (x - r, y - r, x + r, y + r)))
    return strokes


# --------------------------------------------------------------------------------------------
# Painting and 2-D helpers
# --------------------------------------------------------------------------------------------
def _paint(draw: ImageDraw.ImageDraw, stroke: Stroke, fill) -> None:
    g = stroke.geometry
    if stroke.shape == "capsule":
        _capsule(draw, *g, fill)
    elif stroke.shape == "polygon":
        draw.polygon(g, fill=fill)
    elif stroke.shape == "ellipse":
        draw.ellipse(g, fill=fill)
    elif stroke.shape == "rounded_rectangle":
        draw.rounded_rectangle(g[0], radius=g[1], fill=fill)
    elif stroke.shape == "line":
        draw.line(g[0], fill=fill, width=g[1])
    else:
        raise ValueError(f"unknown stroke shape {stroke.shape!r}")


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


def _shade(colour, factor):
    return tuple(int(min(255, max(0, c * factor))) for c in colour)
