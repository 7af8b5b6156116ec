"""`ilat-video serve`: one job (the library's steps and checks, its folder removed however it ends),
and the page in a real browser (Debian's chromium driven by playwright's client): the example
inputs give a video that plays, a text file named .mp4 gives the library's error in the page, and
neither the page nor the server asks any host but the app's own.

The browser tests skip only where chromium cannot be had (`make install` installs it as root);
under CI=1 (.ci/run) they fail instead.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from ilat_video.app import PRESETS, check_upload, run_job
from ilat_video.errors import IlatError
from ilat_video.pipeline import Animator
from ilat_video.video import probe_video, read_frames

from test_pipeline import tiny_models

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "photo.jpg"
DANCE = ROOT / "examples" / "dance.mp4"
DANCE_POSES = ROOT / "examples" / "driving_poses.json"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# gradio's queue calls pandas in ways pandas 3 deprecates: theirs, not ours.
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture(scope="module")
def animator():
    tokenizer, transformer = tiny_models()
    return Animator(tokenizer, transformer, device="cpu")


def not_a_video(folder: Path, name: str = "clip.mp4") -> Path:
    path = folder / name
    path.write_text("this is a text file, not a video\n")
    return path


# --- one job, no browser --------------------------------------------------------------------------
def test_uploads_are_refused_with_the_uploads_name_and_the_reason(tmp_path):
    with pytest.raises(IlatError, match=r"clip\.mp4: not a readable video"):
        check_upload(not_a_video(tmp_path), "driving")
    with pytest.raises(IlatError, match=r"photo\.txt: expected a photo"):
        check_upload(shutil.copy(PHOTO, tmp_path / "photo.txt"), "photo")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(PHOTO.read_bytes()[:200])
    with pytest.raises(IlatError, match=r"broken\.jpg: not a readable image"):
        check_upload(broken, "photo")
    size = PHOTO.stat().st_size
    with pytest.raises(IlatError, match=r"photo\.jpg: .* MB is over the upload limit"):
        check_upload(PHOTO, "photo", max_bytes=size - 1)
    assert check_upload(PHOTO, "photo", max_bytes=size) == PHOTO


def test_the_jobs_error_is_the_clis_own_message(tmp_path, animator, monkeypatch):
    """The page refuses a bad driving video with `ilat-video animate`'s message, the upload's
    temporary path replaced by its file name."""
    from ilat_video.cli import main

    upload = tmp_path / "upload"
    upload.mkdir()
    bad = not_a_video(upload)
    root = tmp_path / "jobs"
    root.mkdir()
    with pytest.raises(IlatError) as refused:
        next(run_job(animator, PHOTO, bad, temp_root=root))
    assert list(root.iterdir()) == []

    monkeypatch.setattr(Animator, "from_pretrained", classmethod(lambda cls, *a, **k: animator))
    cli = CliRunner().invoke(main, ["animate", str(PHOTO), str(bad), "-o", str(tmp_path / "out.mp4")])
    assert cli.exit_code == 2
    cli_message = " ".join(cli.output.split()).removeprefix("error: ")
    assert str(refused.value) == cli_message.replace(str(bad), bad.name)
    assert str(bad) not in str(refused.value)


@pytest.mark.slow
def test_a_job_yields_the_skeleton_then_the_result_and_leaves_no_file(tmp_path, animator):
    root = tmp_path / "jobs"
    root.mkdir()
    seen = []
    steps = run_job(animator, PHOTO, DANCE_POSES, retarget="relative", preset="quick", temp_root=root,
                    progress=lambda what, done, total: seen.append((what, done, total)))
    skeleton = next(steps)
    quick = PRESETS["quick"]
    assert skeleton.kind == "skeleton" and len(skeleton.poses) == quick.max_frames
    assert len(list(read_frames(skeleton.path))) == quick.max_frames
    result = next(steps)
    assert result.kind == "result" and result.summary.frames == quick.max_frames
    info = probe_video(result.path)
    assert info["num_frames"] == quick.max_frames
    assert max(info["width"], info["height"]) <= quick.options.max_side
    assert seen and seen[-1] == ("animating", quick.max_frames, quick.max_frames)
    assert len(list(root.iterdir())) == 1  # the job's folder, while the job is not over
    with pytest.raises(StopIteration):
        next(steps)
    assert list(root.iterdir()) == []


def test_a_job_says_what_the_cli_would_warn_of_naming_the_uploads(tmp_path, animator):
    """A photo cut at the waist and a driving video cut at the waist: the CLI warns of both, and the
    page showed neither. The job's steps carry them, naming the uploads by their own names."""
    from PIL import Image

    from ilat_video.video import VideoWriter

    photo = Image.open(PHOTO)
    upload = tmp_path / "upload"
    upload.mkdir()
    photo.crop((0, 0, photo.width, photo.height // 2)).save(upload / "me_waist_up.png")
    with VideoWriter(upload / "webcam.mp4", fps=30, preset="ultrafast") as writer:
        for frame in read_frames(DANCE, max_frames=4):
            writer.write(frame[:220].copy())               # the dancer's hips at y 181-212 of 360
    steps = run_job(animator, upload / "me_waist_up.png", upload / "webcam.mp4", preset="quick", temp_root=tmp_path)
    assert next(steps).notes == ()
    notes = next(steps).notes
    assert any(n.startswith("webcam.mp4: the video's frame cuts the person") for n in notes), notes
    assert any(n.startswith("me_waist_up.png: the photo's lower edge cuts the person") for n in notes), notes
    assert not any(str(upload) in n for n in notes)
    steps.close()


def test_a_job_says_a_damaged_video_was_read_as_far_as_it_goes(tmp_path, animator):
    """The example video cut short: its frames are decoded ahead in another thread, which says where
    the file ends; the skeleton step carries that, naming the upload."""
    upload = tmp_path / "upload"
    upload.mkdir()
    data = DANCE.read_bytes()
    (upload / "short.mp4").write_bytes(data[:int(0.3 * len(data))])
    steps = run_job(animator, PHOTO, upload / "short.mp4", preset="standard", temp_root=tmp_path)
    notes = next(steps).notes
    steps.close()
    assert any(n.startswith("short.mp4:") and "truncated" in n for n in notes), notes


def test_a_job_abandoned_midway_leaves_no_file(tmp_path, animator):
    steps = run_job(animator, PHOTO, DANCE_POSES, preset="quick", temp_root=tmp_path)
    assert next(steps).path.is_file()
    steps.close()
    assert list(tmp_path.iterdir()) == []


def test_local_hosts():
    from ilat_video.app.page import is_local_host

    assert all(is_local_host(h) for h in ("localhost", "127.0.0.1", "127.0.0.2", "::1"))
    assert not any(is_local_host(h) for h in ("0.0.0.0", "::", "192.168.1.20", "example.com"))


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch):
    from ilat_video.cli import main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'ilat-video[app]'" in " ".join(result.output.split())


# --- the page in a real browser -------------------------------------------------------------------
def _unavailable(reason: str):
    """Skip where the browser cannot be had; fail in CI, where `make install` must provide it."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("ILAT_VIDEO_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        _unavailable("no chromium (`make install` installs Debian's chromium when run as root)")
    try:
        import gradio  # noqa: F401
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"the [app] or [browser-test] extra is missing ({exc}); run `make install`")
    with sync_playwright() as playwright:
        # playwright starts it with a fresh profile; these flags keep it from calling Google
        # (updates, sync, field trials, QUIC probes).
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps"])
        yield browser
        browser.close()


class HostLog:
    """Every host this process resolves or connects to (the server's side of "nothing leaves")."""

    def __init__(self):
        self.hosts: set[str] = set()

    def install(self, patch: pytest.MonkeyPatch) -> None:
        getaddrinfo, connect = socket.getaddrinfo, socket.socket.connect

        def logged_getaddrinfo(host, *args, **kwargs):
            self.hosts.add(host.decode() if isinstance(host, bytes) else str(host))
            return getaddrinfo(host, *args, **kwargs)

        def logged_connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                self.hosts.add(str(address[0]))
            return connect(sock, address)

        patch.setattr(socket, "getaddrinfo", logged_getaddrinfo)
        patch.setattr(socket.socket, "connect", logged_connect)


@pytest.fixture(scope="module")
def server(browser, animator):
    from ilat_video.app.page import serve

    log = HostLog()
    with pytest.MonkeyPatch.context() as patch:
        log.install(patch)
        with socket.socket() as probe:  # a free port, so that parallel runs do not collide
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        running = serve(animator, host="127.0.0.1", port=port, max_upload_mb=5)
        running.host_log = log
        yield running
        running.close()
        assert not running.temp_root.exists()


@pytest.fixture
def page(browser, server):
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: requests.append(socket.url))
    page.goto(server.url)
    page.wait_for_selector("#animate")
    yield page
    context.close()
    app = urlsplit(server.url).netloc
    foreign = sorted({urlsplit(u).netloc for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
                     - {app})
    assert not foreign, f"the page asked other hosts than the app's own ({app}): {foreign}"
    assert server.host_log.hosts <= LOOPBACK, f"the server asked other hosts: {server.host_log.hosts - LOOPBACK}"


def _upload(page, photo: Path, driving: Path) -> None:
    for box, path in (("#photo", photo), ("#driving", driving)):
        page.set_input_files(f"{box} input[type=file]", str(path))
        page.wait_for_selector(f'{box} a[download="{path.name}"]')  # uploaded: the file's link shows


PLAY = """async (selector) => {
    const video = document.querySelector(selector);
    if (video.readyState < 1) await new Promise(r => video.addEventListener('loadedmetadata', r, {once: true}));
    video.muted = true;
    let presented = 0;
    const counting = () => { presented += 1; video.requestVideoFrameCallback(counting); };
    video.requestVideoFrameCallback(counting);
    await video.play();
    await new Promise(r => video.addEventListener('ended', r, {once: true}));
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    const context = canvas.getContext('2d');
    context.drawImage(video, 0, 0);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0, squares = 0;
    for (let i = 0; i < rgba.length; i += 4) {
        const grey = (rgba[i] + rgba[i + 1] + rgba[i + 2]) / 3;
        sum += grey; squares += grey * grey;
    }
    const n = rgba.length / 4, mean = sum / n;
    return {duration: video.duration, width: video.videoWidth, height: video.videoHeight, presented,
            grey_std: Math.sqrt(Math.max(squares / n - mean * mean, 0)), src: video.currentSrc};
}"""


@pytest.mark.slow
def test_the_page_animates_the_examples_one_job_at_a_time_and_the_video_plays(browser, page, server, animator,
                                                                             tmp_path, monkeypatch):
    # The first job is held once it has its poses (the quick preset's take a fraction of a second,
    # and its whole job a few), until the test has seen the second one wait in the queue.
    found = animator.load_driving
    release = threading.Event()

    def held(*args, **kwargs):
        poses = found(*args, **kwargs)
        release.wait(timeout=120)
        return poses

    monkeypatch.setattr(animator, "load_driving", held)
    _upload(page, PHOTO, DANCE)
    other = browser.new_context()
    second = other.new_page()
    second.goto(server.url)
    _upload(second, PHOTO, DANCE_POSES)
    try:
        page.click("#animate")
        page.get_by_text("finding the driving poses").first.wait_for(timeout=60_000)  # the first job runs...
        second.click("#animate")
        second.get_by_text(re.compile(r"queue: *1 */ *1")).first.wait_for(timeout=10_000)  # ...the second waits
    finally:
        release.set()  # whatever happened: no job left held
    page.wait_for_selector("#result video", timeout=180_000)
    quick = PRESETS["quick"]
    for selector in ("#skeleton video", "#result video"):
        played = page.evaluate(PLAY, selector)
        assert urlsplit(played["src"]).netloc == urlsplit(server.url).netloc
        assert played["duration"] > 0 and played["presented"] >= 2, played
        assert played["grey_std"] > 10, f"{selector}: the last frame decodes to a flat image: {played}"
    # The download is the same video as the one shown: the quick preset's frames at its size.
    link = page.locator("#download a[download]").first
    saved = tmp_path / "downloaded.mp4"
    saved.write_bytes(page.request.get(link.get_attribute("href")).body())
    info = probe_video(saved)
    assert info["num_frames"] == quick.max_frames
    assert max(info["width"], info["height"]) <= quick.options.max_side
    assert (info["width"], info["height"]) == (played["width"], played["height"])
    assert played["duration"] == pytest.approx(quick.max_frames / info["fps"], abs=1.5 / info["fps"])
    second.wait_for_selector("#result video", timeout=180_000)  # its turn came
    other.close()
    assert not list(server.temp_root.glob("ilat-video-job-*")), "a job's folder outlived the job"


@pytest.mark.slow
def test_the_page_refuses_a_big_upload_and_shows_the_error_for_a_text_file_named_mp4(page, server, tmp_path):
    big = tmp_path / "big.mp4"
    with big.open("wb") as file:  # over the fixture's 5 MB limit, without writing 6 MB
        file.truncate(6 * 2**20)
    page.set_input_files("#driving input[type=file]", str(big))
    page.get_by_text(re.compile(r"exceed the maximum allowed size.*big\.mp4")).first.wait_for(timeout=30_000)
    _upload(page, PHOTO, not_a_video(tmp_path, "notes.mp4"))
    page.click("#animate")
    page.get_by_text("notes.mp4: not a readable video").first.wait_for(timeout=60_000)
    assert page.locator("#result video").count() == 0
    assert not list(server.temp_root.glob("ilat-video-job-*"))

