"""Rebuild the example inputs: a synthetic reference person (test split: never trained on) with
its pose file, and the driving video's pose file.

    python examples/make_examples.py
"""
from pathlib import Path

from PIL import Image

from ilat_video.data.synth import file_video
from ilat_video.pose.extract import extract_poses
from ilat_video.pose.formats import save_poses
from ilat_video.pose.sequence import PoseSequence

HERE = Path(__file__).parent
SIZE = 256

# Test-split identity 3 of seed 2026: front view, standing upright in its first frame.
video = file_video(2026, "test", 3, SIZE, 4)
Image.fromarray(video.render(0, supersample=2)).save(HERE / "reference.png")
save_poses(PoseSequence(video.poses[:1], SIZE, SIZE, 30.0, source="examples/reference.png"),
           HERE / "reference_pose.json")
save_poses(extract_poses(HERE / "driving.mp4"), HERE / "driving_poses.json")
