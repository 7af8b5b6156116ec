"""The 13-joint body model: names, bones, mirroring, colours, and Penn Action's left/right."""
from pathlib import Path

import numpy as np
import scipy.io

from ilat_video.pose import skeleton as sk

DATA = Path(__file__).parent / "data"


def _mirror_name(name: str) -> str:
    if name.startswith("right_"):
        return "left_" + name[len("right_"):]
    if name.startswith("left_"):
        return "right_" + name[len("left_"):]
    return name


def test_names_and_indices_agree():
    assert len(sk.JOINT_NAMES) == sk.NUM_JOINTS == 13
    assert len(set(sk.JOINT_NAMES)) == 13
    for name, index in sk.JOINT_INDEX.items():
        assert sk.JOINT_NAMES[index] == name
    constants = {"HEAD": "head", "R_SHOULDER": "right_shoulder", "L_SHOULDER": "left_shoulder",
                 "R_ELBOW": "right_elbow", "L_ELBOW": "left_elbow", "R_WRIST": "right_wrist",
                 "L_WRIST": "left_wrist", "R_HIP": "right_hip", "L_HIP": "left_hip", "R_KNEE": "right_knee",
                 "L_KNEE": "left_knee", "R_ANKLE": "right_ankle", "L_ANKLE": "left_ankle"}
    for constant, name in constants.items():
        assert sk.JOINT_NAMES[getattr(sk, constant)] == name


def test_penn_order_right_before_left():
    # Penn Action's order with anatomical names: odd indices right, even (>0) left.
    for j in range(1, 13):
        assert sk.JOINT_NAMES[j].startswith("right_" if j % 2 else "left_")


def test_flip_permutation_swaps_mirrored_names_and_is_an_involution():
    perm = sk.FLIP_PERMUTATION
    assert sorted(perm) == list(range(13))
    for j, k in enumerate(perm):
        assert sk.JOINT_NAMES[k] == _mirror_name(sk.JOINT_NAMES[j])
        assert perm[k] == j
    for right, left in sk.LEFT_RIGHT_PAIRS:
        assert _mirror_name(sk.JOINT_NAMES[right]) == sk.JOINT_NAMES[left]
        assert sk.JOINT_NAMES[right].startswith("right_")
    assert len(sk.LEFT_RIGHT_PAIRS) == 6


def test_bones_form_one_connected_body_closed_under_mirroring():
    bones = {frozenset(b) for b in sk.BONES}
    assert len(bones) == len(sk.BONES)  # no duplicates
    for a, b in sk.BONES:
        assert frozenset((sk.FLIP_PERMUTATION[a], sk.FLIP_PERMUTATION[b])) in bones
    reached, frontier = {0}, [0]
    while frontier:
        j = frontier.pop()
        for a, b in sk.BONES:
            for u, v in ((a, b), (b, a)):
                if u == j and v not in reached:
                    reached.add(v)
                    frontier.append(v)
    assert reached == set(range(13))


def test_bone_colours_right_warm_left_cool():
    assert len(sk.BONE_COLORS) == len(sk.BONES)
    right = {r for r, _ in sk.LEFT_RIGHT_PAIRS}
    left = {l for _, l in sk.LEFT_RIGHT_PAIRS}
    for (a, b), (red, green, blue) in zip(sk.BONES, sk.BONE_COLORS):
        assert all(0 <= c <= 255 for c in (red, green, blue))
        if {a, b} <= right:
            assert red > blue
        if {a, b} <= left:
            assert blue > red


def test_penn_index_1_is_the_anatomical_right_shoulder():
    # 1037.mat: jumping jacks seen from the front. A person facing the camera has their right
    # shoulder on the image's left, so joint 1 must have the smaller x in every frame.
    mat = scipy.io.loadmat(DATA / "penn_action" / "1037.mat")
    assert str(mat["pose"][0]) == "front"
    x = mat["x"].astype(np.float64)
    assert len(x) == 26
    assert (x[:, sk.R_SHOULDER] < x[:, sk.L_SHOULDER]).all()
    assert (x[:, sk.R_HIP] < x[:, sk.L_HIP]).all()
