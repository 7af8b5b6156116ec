"""Writes the hand-made ControlNet pose JSON (ComfyUI's POSE_KEYPOINT) in this folder (run once; the
file is committed). Written by the ilat-video team from the format's description, not by a tool:

    dwpose_normalized.json: 3 frames of a 640x480 canvas, coordinates normalized to the canvas as
    controlnet_aux's DWPose node writes them, every present point with confidence 1.0, missing body
    points 0, 0, 0, undetected hand points at (-1/width, -1/height) with confidence 1.0 (as
    controlnet_aux marks them), 21-point hands, 68 face points, DWPose's 6 foot points.
    Frame 0: person A and a smaller person B (listed first, no hands, null face); frame 1: A with
    its left hand not detected and no feet; frame 2: nobody.

    python tests/data/controlnet/make_files.py
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
W, H = 640, 480

COCO_18 = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
           "right_eye", "left_eye", "right_ear", "left_ear")
FOOT_6 = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
FINGERS = {"thumb": ("cmc", "mcp", "ip", "tip"), "index": ("mcp", "pip", "dip", "tip"),
           "middle": ("mcp", "pip", "dip", "tip"), "ring": ("mcp", "pip", "dip", "tip"),
           "pinky": ("mcp", "pip", "dip", "tip")}
HAND_21 = ("wrist",) + tuple(f"{f}_{p}" for f, parts in FINGERS.items() for p in parts)

# Person A faces the camera (their right side at smaller x), in pixels.
A_BODY = {
    "nose": (320, 80), "neck": (320, 120), "right_shoulder": (290, 121), "left_shoulder": (351, 119),
    "right_elbow": (281, 170), "left_elbow": (359, 171), "right_wrist": (275, 216), "left_wrist": (366, 214),
    "right_hip": (301, 231), "left_hip": (339, 229), "right_knee": (298, 311), "left_knee": (343, 309),
    "right_ankle": (296, 391), "left_ankle": (345, 389), "right_eye": (313, 72), "left_eye": (327, 73),
    "right_ear": None, "left_ear": (337, 77),
}
A_FEET = {"left_big_toe": (352, 402), "left_small_toe": (356, 400), "left_heel": (343, 396),
          "right_big_toe": (289, 403), "right_small_toe": (285, 401), "right_heel": (297, 397)}


def hand(wrist, direction):
    """A hand hanging down from the wrist: finger f, joint k at a fan of positions (pixels)."""
    out = {"wrist": wrist}
    for f, (finger, parts) in enumerate(FINGERS.items()):
        for k, part in enumerate(parts):
            out[f"{finger}_{part}"] = (wrist[0] + direction * (f - 1.5) * 4 + direction * 3 * (finger == "thumb"),
                                       wrist[1] + 8 + 5 * k)
    return out


def points(named, names, undetected=()):
    """Flat [x, y, c] normalized to the canvas; None -> 0, 0, 0; names in `undetected` -> -1/W, -1/H, 1."""
    out = []
    for name in names:
        if name in undetected:
            out += [-1 / W, -1 / H, 1.0]
        elif named.get(name) is None:
            out += [0.0, 0.0, 0.0]
        else:
            x, y = named[name]
            out += [round(x / W, 6), round(y / H, 6), 1.0]
    return out


def scaled(named, s, dx):
    return {k: None if v is None else (320 + (v[0] - 320) * s + dx, 240 + (v[1] - 240) * s) for k, v in named.items()}


def main():
    right = hand(A_BODY["right_wrist"], -1)
    left = hand(A_BODY["left_wrist"], 1)
    face = [round(v, 6) for i in range(68) for v in ((300 + i % 10 * 4) / W, (60 + i // 10 * 4) / H, 1.0)]
    a0 = {"pose_keypoints_2d": points(A_BODY, COCO_18), "face_keypoints_2d": face,
          "hand_left_keypoints_2d": points(left, HAND_21, undetected=("pinky_tip",)),
          "hand_right_keypoints_2d": points(right, HAND_21), "foot_keypoints_2d": points(A_FEET, FOOT_6)}
    b0 = {"pose_keypoints_2d": points(scaled(A_BODY, 0.5, 220), COCO_18), "face_keypoints_2d": None,
          "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": None}
    moved = {k: None if v is None else (v[0] + 10, v[1]) for k, v in A_BODY.items()}
    a1 = {"pose_keypoints_2d": points(moved, COCO_18), "face_keypoints_2d": face,
          "hand_left_keypoints_2d": points(left, HAND_21, undetected=HAND_21),
          "hand_right_keypoints_2d": points({k: (x + 10, y) for k, (x, y) in right.items()}, HAND_21)}
    frames = [{"people": [b0, a0], "canvas_width": W, "canvas_height": H},
              {"people": [a1], "canvas_width": W, "canvas_height": H},
              {"people": [], "canvas_width": W, "canvas_height": H}]
    (HERE / "dwpose_normalized.json").write_text(json.dumps(frames, indent=1) + "\n")


if __name__ == "__main__":
    main()
