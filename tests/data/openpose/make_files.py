"""Writes the hand-made OpenPose files in this folder (run once; the files are committed).

One person "A" (facing the camera, 640x480 frame) and a smaller person "B". Positions are given by
keypoint name, so each file's layout comes from the OpenPose documentation's index order below.
    python tests/data/openpose/make_files.py
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

BODY_25 = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
           "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
           "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
COCO_18 = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
           "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
           "right_eye", "left_eye", "right_ear", "left_ear")

# Person A, facing the camera: their right side is on the image's left (smaller x).
A = {
    "nose": (320, 80, 0.93), "neck": (320, 120, 0.9), "right_shoulder": (290, 121, 0.88),
    "left_shoulder": (351, 119, 0.87), "right_elbow": (281, 170, 0.8), "left_elbow": (359, 171, 0.82),
    "right_wrist": (275, 216, 0.7), "left_wrist": (366, 214, 0.75), "mid_hip": (320, 230, 0.85),
    "right_hip": (301, 231, 0.83), "left_hip": (339, 229, 0.84), "right_knee": (298, 311, 0.8),
    "left_knee": (343, 309, 0.79), "right_ankle": (296, 391, 0.77), "left_ankle": (345, 389, 0.78),
    "right_eye": (313, 72, 0.9), "left_eye": (327, 73, 0.91), "right_ear": (304, 78, 0.6),
    "left_ear": (337, 77, 0.65), "left_big_toe": (352, 402, 0.5), "left_small_toe": (356, 400, 0.5),
    "left_heel": (343, 396, 0.5), "right_big_toe": (289, 403, 0.5), "right_small_toe": (285, 401, 0.5),
    "right_heel": (297, 397, 0.5),
}


def moved(person, dx, dy, scale=1.0, drop=()):
    return {k: ((0, 0, 0) if k in drop else (round(320 + (x - 320) * scale + dx, 2),
                                             round(240 + (y - 240) * scale + dy, 2), c))
            for k, (x, y, c) in person.items()}


def flat(person, names):
    return [float(v) for name in names for v in person[name]]


def person_entry(person, names, pid=-1):
    return {"person_id": [pid], "pose_keypoints_2d": flat(person, names), "face_keypoints_2d": [],
            "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
            "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []}


# Frames: 0: A; 1: A moved and a smaller B (listed first); 2: nobody; 3: A without its nose.
B = moved(A, 200, 40, scale=0.5)
FRAMES = [[A], [B, moved(A, 6, 2)], [], [moved(A, 10, 3, drop=("nose",))]]


def main():
    # Native OpenPose BODY_25: one file per frame, no canvas size, person_id -1.
    folder = HERE / "body25_frames"
    folder.mkdir(exist_ok=True)
    for t, people in enumerate(FRAMES):
        frame = {"version": 1.3, "people": [person_entry(p, BODY_25) for p in people]}
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps(frame))
    # Native OpenPose COCO-18 (the COCO model), one file per frame, tracked ids (A = 0, B = 1).
    folder = HERE / "coco18_frames"
    folder.mkdir(exist_ok=True)
    for t, people in enumerate(FRAMES):
        ids = [1, 0] if len(people) == 2 else [0] * len(people)
        frame = {"version": 1.3, "people": [person_entry(p, COCO_18, i) for p, i in zip(people, ids)]}
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps(frame))
    # One BODY_25 frame in one file (A only), as OpenPose writes it.
    (HERE / "body25_single.json").write_text(json.dumps({"version": 1.3, "people": [person_entry(A, BODY_25)]}))
    # ControlNet-style: one file, a list of frames with canvas size, pixel coordinates.
    frames = [{"people": [{"pose_keypoints_2d": flat(p, COCO_18)} for p in people],
               "canvas_width": 640, "canvas_height": 480} for people in FRAMES]
    (HERE / "coco18_sequence.json").write_text(json.dumps(frames, indent=1))
    # controlnet_aux-style: coordinates normalized to the canvas, one frame.
    norm = {k: (round(x / 640, 6), round(y / 480, 6), c) for k, (x, y, c) in A.items()}
    (HERE / "coco18_normalized.json").write_text(json.dumps(
        {"people": [{"pose_keypoints_2d": flat(norm, COCO_18)}], "canvas_width": 640, "canvas_height": 480}))


if __name__ == "__main__":
    main()
