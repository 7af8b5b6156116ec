"""The README's Python example runs (on a tiny random model: the demo model's quality is measured
in benchmarks, not here)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ilat_video.video import read_frames

from test_pipeline import tiny_models

ROOT = Path(__file__).resolve().parents[1]


def test_examples_animate_py_runs(tmp_path):
    tokenizer, transformer = tiny_models()
    tokenizer.save_pretrained(tmp_path / "model" / "tokenizer")
    transformer.save_pretrained(tmp_path / "model" / "transformer")
    out = tmp_path / "api.mp4"
    env = {**os.environ, "ILAT_VIDEO_MODEL": str(tmp_path / "model")}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "animate.py"), str(out)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    assert len(list(read_frames(out))) == 12


def test_example_inputs_are_consistent():
    from ilat_video.fileio import load_image
    from ilat_video.pose.formats import load_poses

    image = load_image(ROOT / "examples" / "reference.png")
    pose = load_poses(ROOT / "examples" / "reference_pose.json")
    assert (pose.width, pose.height) == (image.shape[1], image.shape[0])
    assert len(pose) == 1 and pose.has_person.all()
    driving = load_poses(ROOT / "examples" / "driving_poses.json")
    assert len(driving) == 40 and driving.has_person.mean() > 0.9


def test_the_readmes_python_snippet_runs(tmp_path, monkeypatch):
    """The README's Python block, on a tiny random model, a real photo and a real video."""
    import re

    text = (ROOT / "README.md").read_text()
    (snippet,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    tokenizer, transformer = tiny_models()
    tokenizer.save_pretrained(tmp_path / "model" / "tokenizer")
    transformer.save_pretrained(tmp_path / "model" / "transformer")
    monkeypatch.setenv("ILAT_VIDEO_MODEL", str(tmp_path / "model"))
    photo = ROOT / "tests" / "data" / "real" / "standing_hoodie_black_bg.png"
    video = ROOT / "tests" / "data" / "video" / "person_dribble.mp4"
    for placeholder, path in (("me.png", photo), ("dance.mp4", video), ("out.mp4", tmp_path / "out.mp4")):
        assert f'"{placeholder}"' in snippet
        snippet = snippet.replace(f'"{placeholder}"', repr(str(path)))
    exec(compile(snippet, "README.md", "exec"), {})
    assert len(list(read_frames(tmp_path / "out.mp4"))) == 40


def test_a_benchmark_measures_the_package_of_its_own_checkout(tmp_path):
    """A benchmark run from another checkout (an older commit measured beside the newest) imports
    that checkout's package, not the installed one: it measured the installed package and stamped
    the other checkout's commit on the numbers."""
    other = tmp_path / "older"
    (other / "benchmarks").mkdir(parents=True)
    (other / "ilat_video").mkdir()
    (other / "benchmarks" / "_common.py").write_text((ROOT / "benchmarks" / "_common.py").read_text())
    (other / "ilat_video" / "__init__.py").write_text("WHICH = 'the older checkout'\n")
    script = other / "benchmarks" / "bench_which.py"
    script.write_text("import sys\nfrom pathlib import Path\nsys.path.insert(0, str(Path(__file__).parent))\n"
                      "import _common  # noqa: F401\nimport ilat_video\nprint(ilat_video.WHICH)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout.strip() == "the older checkout"
