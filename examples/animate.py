"""The Python API: extract poses, retarget them, animate, write an mp4.

    python examples/animate.py [OUTPUT.mp4]
"""
import sys
from pathlib import Path

import ilat_video

HERE = Path(__file__).parent
output = Path(sys.argv[1] if len(sys.argv) > 1 else "out/example_api.mp4")
output.parent.mkdir(parents=True, exist_ok=True)

# 1. The driving motion: poses from a video (MediaPipe), or a pose file we saved earlier.
driving = ilat_video.load_poses(HERE / "driving_poses.json")  # or ilat_video.extract_poses(HERE / "driving.mp4")
reference_pose = ilat_video.load_poses(HERE / "reference_pose.json")
print(f"driving: {driving}")

# 2. Retargeting on its own (the Animator does this for you; shown here as an API).
on_reference = ilat_video.retarget(driving, reference_pose, mode="scale")
print(f"retargeted: {on_reference}")

# 3. Animate: frames come out one at a time, or straight into an mp4.
animator = ilat_video.Animator.from_pretrained(ilat_video.default_model_dir())
first = next(animator.animate(HERE / "reference.png", driving, reference_pose=reference_pose, max_frames=1))
print(f"first frame: {first.shape} {first.dtype}")
summary = animator.animate_to_file(HERE / "reference.png", driving, output, reference_pose=reference_pose,
                                   max_frames=12, side_by_side=True)
print(f"wrote {summary.output}: {summary.frames} frames, {summary.frames_per_second:.2f} frames/s")
