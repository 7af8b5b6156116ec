"""Stopping a run (issue 27, items 2 and 6): SIGTERM, SIGHUP and Ctrl-C leave the output folder as
it was, and a part file left by a killed run (SIGKILL) is removed by a later run only when safe.

The subprocess tests start a real writer (or the real `ilat-video animate`), wait until its hidden
part file exists, signal it, and compare the folder with what it held before.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ilat_video import video as video_module
from ilat_video.video import VideoWriter

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of the folder, hidden ones included, with its bytes."""
    return {p.name: p.read_bytes() if p.is_file() else b"<dir>" for p in folder.iterdir()}


def part_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".part" in p.name]


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    # The signals set back to their defaults in the child: a test runner started in the background
    # by a shell ignores SIGINT, one started under nohup ignores SIGHUP, and an ignored signal stays
    # ignored in the children (the CLI respects that on purpose: nohup must keep working).
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=_default_signals)


def wait_for_part_file(process: subprocess.Popen, folder: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not part_files(folder):
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the run ended (code {process.returncode}) before writing: {err.decode()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("no part file appeared in time")
        time.sleep(0.05)


# A writer that never finishes on its own: frames until it is stopped.
SLOW_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from ilat_video.cli.common import user_errors
    from ilat_video.video import VideoWriter

    @user_errors
    def run():
        with VideoWriter(sys.argv[1], fps=10, preset="ultrafast") as writer:
            while True:
                writer.write(np.zeros((16, 16, 3), np.uint8))
                time.sleep(0.01)

    run()
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_removes_the_part_file_and_keeps_the_old_output(tmp_path, signum):
    (tmp_path / "out.mp4").write_bytes(b"the previous result")
    (tmp_path / "other.txt").write_text("untouched")
    before = snapshot(tmp_path)
    process = start([sys.executable, "-c", SLOW_WRITER, "out.mp4"], cwd=tmp_path)
    wait_for_part_file(process, tmp_path, timeout=60)
    time.sleep(0.3)  # frames are being written
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, err.decode()
    assert signal.Signals(signum).name in err.decode()
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_animate_stopped_mid_run_changes_nothing(tmp_path):
    """The real command, stopped by SIGTERM and by SIGINT while it makes frames.

    The square path from a pose file: no MediaPipe start-up, and slow enough per frame (the
    iLAT model) that a second after the output's part file appears, frames are still coming.
    """
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.mp4").write_bytes(b"an earlier result the user keeps")
    before = snapshot(out)
    args = [sys.executable, "-m", "ilat_video", "animate", str(EXAMPLES / "reference.png"),
            str(EXAMPLES / "driving_poses.json"), "--reference-pose", str(EXAMPLES / "reference_pose.json"),
            "--frame", "square", "--max-frames", "32", "--batch-size", "4", "--threads", "1",
            "-o", "result.mp4", "--save-poses", "poses.json"]
    for signum in (signal.SIGTERM, signal.SIGINT):
        process = start(args, cwd=out)
        wait_for_part_file(process, out, timeout=240)
        time.sleep(1.0)  # into the frames
        assert process.poll() is None, "the run finished before it could be stopped; give it more frames"
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 128 + signum, err.decode()[-2000:]
        assert snapshot(out) == before, signal.Signals(signum).name


def make_part(folder: Path, name: str, *, age: float) -> Path:
    path = folder / name
    path.write_bytes(b"")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="part files are only swept where flock exists")
def test_later_run_removes_only_stale_part_files_of_its_own_output(tmp_path):
    import fcntl

    old = video_module.STALE_PART_AGE * 2
    stale = make_part(tmp_path, ".out.abcd1234.part.mp4", age=old)  # killed run: old, unlocked
    young = make_part(tmp_path, ".out.young123.part.mp4", age=5)  # may be a run just starting
    live = make_part(tmp_path, ".out.live1234.part.mp4", age=old)  # old but its writer still holds it
    other_output = make_part(tmp_path, ".other.abcd1234.part.mp4", age=old)  # another output's
    not_ours = make_part(tmp_path, ".out.notours.part.mp4", age=old)  # not our naming (7 chars)
    user_file = make_part(tmp_path, ".out.abcd1234.part.mkv", age=old)  # another suffix
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"keep")
    link = tmp_path / ".out.link1234.part.mp4"
    link.symlink_to(target)
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with VideoWriter(tmp_path / "out.mp4", fps=10, preset="ultrafast") as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
    finally:
        os.close(holder)
    assert not stale.exists()
    for kept in (young, live, other_output, not_ours, user_file, link):
        assert kept.exists() or kept.is_symlink(), kept.name
    assert target.read_bytes() == b"keep"
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_a_writer_holds_its_part_file_locked_while_it_writes(tmp_path):
    """What makes the sweep safe: while a writer works, its part file cannot be taken for stale."""
    fcntl = pytest.importorskip("fcntl")
    with VideoWriter(tmp_path / "out.mp4", fps=10, preset="ultrafast") as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
        (part,) = part_files(tmp_path)
        fd = os.open(part, os.O_RDONLY)
        try:
            with pytest.raises(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        os.utime(part, (0, 0))  # as old as can be: still not removed by another writer of the same output
        assert video_module._remove_stale_parts(tmp_path / "out.mp4", tmp_path / "unrelated") == []
    assert part_files(tmp_path) == []


def test_sigkill_leaves_a_part_file_that_a_later_run_removes(tmp_path):
    """SIGKILL cannot be caught: the part file stays. The kernel drops the dead writer's lock, so
    once the file is old enough the next writer of the same output removes it."""
    (tmp_path / "out.mp4").write_bytes(b"the previous result")
    process = start([sys.executable, "-c", SLOW_WRITER, "out.mp4"], cwd=tmp_path)
    wait_for_part_file(process, tmp_path, timeout=60)
    process.kill()
    process.communicate(timeout=30)
    (left,) = part_files(tmp_path)
    assert (tmp_path / "out.mp4").read_bytes() == b"the previous result"
    # young, it is left alone (a run could be starting); old, it goes
    assert video_module._remove_stale_parts(tmp_path / "out.mp4", tmp_path / "unrelated") == []
    old = time.time() - 2 * video_module.STALE_PART_AGE
    os.utime(left, (old, old))
    with VideoWriter(tmp_path / "out.mp4", fps=10, preset="ultrafast") as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
    assert part_files(tmp_path) == []
