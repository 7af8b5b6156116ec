"""The back of the head, for a target turned around (`back_of_head`).

A driving person who turns their back to the camera gives a target pose whose torso is mirrored:
left and right swapped. The body is drawn from the photo's front, sides swapped (there is nothing
else: WarpConfig.turned_around), but the photo's face on it would look the wrong way, and until now
the head was left out: a headless body through every back-view frame (the barbell squat clip is
one, the yoga clip's side planks two thirds of theirs).

From behind, a head is its hair (or its scalp), down to the nape. So the back is the photo's head
with its face taken out and filled from the hair round it (a smooth fill: no strands, no parting).
The face is the skin-coloured pixels joined to the nose, with whatever they enclose (eyes, brows,
mouth), always a core round the nose and nothing beyond FACE_REACH of it (fair hair is the colour
of skin); the hair is the head's other pixels above the chin, a little away from the face. A
crown the colour of the skin is a bald scalp: the face then reaches as far as the skin does, and
is filled flat with the crown's colour, as is a head with almost no pixels left for hair. Below
the chin, the neck stays as it is.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import binary_fill_holes, label

from ..pose.skeleton import HEAD
from ..spread import fill_from_part
from .geometry import closed_by, grown_by
from .parts import neck_point

CHIN = 0.55  # along the neck -> nose line (0 at the neck point, 1 at the nose), the head's pixels
# beyond this are face or hair; nearer the neck they are the neck, kept
SKIN_DISC = 0.3  # x the head's radius: the skin's colour is the median of the pixels this near the nose
FACE_CORE = 0.6  # x the head's radius: the pixels this near the nose are face whatever their colour
FACE_REACH = 1.1  # ... and none farther than this (fair hair the colour of the skin is not face)
SKIN_APART = 15.0  # pixels nearer the skin's colour than this (CIE Lab, lightness at half weight:
# a face lit from one side is lighter on one cheek than the other) look like skin
FACE_CLOSE = 0.25  # x the head's radius: the face's gaps narrower than this disc are closed
FACE_EDGE = 0.1  # x the head's radius: hair this near the face or skin is refilled too (its pixels mix both)
BALD = 0.15  # a head whose hair is under this share of its pixels above the chin is filled flat
CROWN = 0.25  # x the neck -> nose distance: the top of the head (the crown) is this deep
BALD_APART = 10.0  # a crown nearer the skin's colour than this (CIE Lab) is a bald scalp: its face
# reaches as far as the skin does, and is filled flat with the crown's colour


def back_of_head(prem: np.ndarray, x0: int, y0: int, pose: np.ndarray, radius: float) -> np.ndarray:
    """The head's crop seen from behind: prem float32 (h, w, 4) (colour x coverage and coverage)
    of the box at (x0, y0) in the photo whose pose (13, 3) it is; radius: the head's, in pixels.
    The same coverage, the face's pixels recoloured from the hair around them (module docstring)."""
    coverage = prem[..., 3]
    colour = np.clip(prem[..., :3] / np.maximum(coverage, 1e-6)[..., None], 0, 255)
    h, w = coverage.shape
    xs = np.arange(w, dtype=np.float64)[None, :] + x0
    ys = np.arange(h, dtype=np.float64)[:, None] + y0
    nose, neck = pose[HEAD, :2].astype(np.float64), neck_point(pose)
    up = nose - neck
    along = ((xs - neck[0]) * up[0] + (ys - neck[1]) * up[1]) / max(float(up @ up), 1e-9)
    upper = (coverage >= 0.5) & (along > CHIN)
    from_nose = np.hypot(xs - nose[0], ys - nose[1])
    near = (from_nose < SKIN_DISC * radius) & (coverage >= 0.9)
    if not near.any():
        near = (from_nose < FACE_CORE * radius) & (coverage >= 0.5)
    if not upper.any() or not near.any():
        return prem.copy()  # no face to take out where the photo shows none
    lab = cv2.cvtColor(colour.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    skin = np.median(lab[near], axis=0)
    solid = coverage >= 0.9
    crown = solid & (along > along[solid].max() - CROWN) if solid.any() else upper
    apart = (lab - skin) * np.array([0.5, 1.0, 1.0], np.float32)
    skin_like = (np.linalg.norm(apart, axis=-1) < SKIN_APART) & upper
    pieces, _count = label(skin_like)
    touching = np.unique(pieces[near & skin_like])
    face = np.isin(pieces, touching[touching > 0]) | (from_nose < FACE_CORE * radius)
    face = binary_fill_holes(closed_by(face, FACE_CLOSE * radius)) & upper
    bald = np.linalg.norm(np.median(lab[crown], axis=0) - skin) < BALD_APART
    hair = upper & ~grown_by(face if bald else face & (from_nose < FACE_REACH * radius), FACE_EDGE * radius) & solid
    rgb = np.round(colour).astype(np.uint8)
    if bald or hair.sum() < BALD * upper.sum():  # the scalp: the crown's colour, its edge softened
        flat = rgb.copy()
        flat[(upper & ~hair) | (coverage < 0.5)] = np.round(np.median(colour[crown], axis=0)).astype(np.uint8)
        back = np.where((upper & ~hair)[..., None], cv2.GaussianBlur(flat, (0, 0), 1.0), rgb)
    else:
        back = fill_from_part(rgb, upper & ~hair, hair)
    out = prem.copy()
    out[..., :3] = np.where(upper[..., None], back.astype(np.float32) * coverage[..., None], prem[..., :3])
    return out
