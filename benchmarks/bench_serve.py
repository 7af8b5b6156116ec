"""What the web page costs over the library: the same quick job three ways, interleaved.

    python benchmarks/bench_serve.py                  # writes benchmarks/results/serve.{md,json}
    python benchmarks/bench_serve.py --repeats 9 --preset standard

library: `Animator.load_driving` + `animate_to_file` with the preset's options, as
    `ilat-video animate --max-frames 12 --stride 2 --max-side 256` runs it (quick preset).
job: `ilat_video.app.run_job` (the same, plus the skeleton video drawn over the driving video).
page: in Debian's chromium (playwright), from the click on Animate until the result video is in
    the page, the uploads already done: the job plus gradio's queue, progress messages and the
    copies of the videos it serves. Skipped without chromium.
The inputs are examples/photo.jpg and examples/dance.mp4, the model the shipped demo model (the
photo path does not run it). Median wall seconds of --repeats, the three ways alternating (the
order turning each round) so that the shared machine's load hits them alike; also the server's
start and the page's first load.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import code_version, cpu_name, write_results  # noqa: E402

from ilat_video.app import PRESETS, run_job  # noqa: E402
from ilat_video.pipeline import Animator, default_model_dir  # noqa: E402

PHOTO = ROOT / "examples" / "photo.jpg"
DANCE = ROOT / "examples" / "dance.mp4"
RESULTS = ROOT / "benchmarks" / "results"


def library(animator: Animator, preset: str, folder: Path) -> float:
    chosen = PRESETS[preset]
    start = time.perf_counter()
    poses = animator.load_driving(DANCE, max_frames=chosen.max_frames, stride=chosen.stride)
    animator.animate_to_file(PHOTO, poses, folder / "library.mp4", options=chosen.options)
    return time.perf_counter() - start


def job(animator: Animator, preset: str, folder: Path) -> float:
    start = time.perf_counter()
    for _ in run_job(animator, PHOTO, DANCE, preset=preset, temp_root=folder):
        pass
    return time.perf_counter() - start


class Page:
    """The page served and open in chromium, the example inputs uploaded."""

    def __init__(self, animator: Animator, chromium: str, preset: str):
        from playwright.sync_api import sync_playwright

        from ilat_video.app.page import serve

        start = time.perf_counter()
        self.server = serve(animator, port=None)
        self.start_seconds = time.perf_counter() - start
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        self.page = self.browser.new_page()
        start = time.perf_counter()
        self.page.goto(self.server.url)
        self.page.wait_for_selector("#animate")
        self.load_seconds = time.perf_counter() - start
        for box, path in (("#photo", PHOTO), ("#driving", DANCE)):
            self.page.set_input_files(f"{box} input[type=file]", str(path))
            self.page.wait_for_selector(f'{box} a[download="{path.name}"]')
        self.page.locator(f'#preset input[value="{preset}"]').check()

    def run(self) -> float:
        start = time.perf_counter()
        self.page.click("#animate")
        # This run's status line: first the driving poses (the last run's "Done" goes), then "Done".
        for line in ("Driving poses", "Done"):
            self.page.wait_for_function(
                "line => (document.querySelector('#status')?.innerText || '').trim().startsWith(line)",
                arg=line, timeout=600_000, polling=20)
        return time.perf_counter() - start

    def close(self) -> None:
        self.browser.close()
        self.playwright.stop()
        self.server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--preset", choices=list(PRESETS), default="quick")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=RESULTS / "serve")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    animator = Animator.from_pretrained(default_model_dir(), device="cpu")
    chromium = os.environ.get("ILAT_VIDEO_CHROMIUM") or shutil.which("chromium")
    page = Page(animator, chromium, args.preset) if chromium else None
    ways = {"library": library, "job": job}
    times: dict[str, list[float]] = {name: [] for name in (*ways, *(["page"] if page else []))}
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        # The order turns each round: whichever way runs after the page shares the CPU with
        # chromium still busy with the videos it just got.
        for round_ in range(args.repeats):
            names = list(times)
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                times[name].append(page.run() if name == "page" else ways[name](animator, args.preset, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if page is not None:
            page.close()

    medians = {name: statistics.median(values) for name, values in times.items()}
    chosen = PRESETS[args.preset]
    result = {
        "code_version": code_version(), "cpu": cpu_name(), "load_average": os.getloadavg()[0],
        "threads": torch.get_num_threads(),
        "preset": args.preset, "max_frames": chosen.max_frames, "stride": chosen.stride,
        "max_side": chosen.options.max_side, "repeats": args.repeats, "seconds": times, "median_seconds": medians,
        "ratio_to_library": {name: medians[name] / medians["library"] for name in medians},
        "server_start_seconds": page.start_seconds if page else None,
        "page_load_seconds": page.load_seconds if page else None,
    }
    lines = [
        "# serve: what the web page costs over the library",
        "",
        f"`python benchmarks/bench_serve.py {' '.join(sys.argv[1:])}`: examples/photo.jpg animated with "
        f"examples/dance.mp4, preset {args.preset} ({chosen.description}). Code {result['code_version']}, "
        f"{result['cpu']}, torch threads {result['threads']}, load average {result['load_average']:.1f} "
        "(a shared machine: compare the ratios, measured in one run).",
        "",
        "| way | median s | runs (s) | / library |",
        "|---|---:|---|---:|",
    ]
    for name in medians:
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        lines.append(f"| {name} | {medians[name]:.2f} | {runs} | {result['ratio_to_library'][name]:.2f} |")
    spread = ", ".join(f"{name} {max(values) / min(values):.1f}x" for name, values in times.items())
    lines += ["", "library: load_driving + animate_to_file; job: run_job (adds the skeleton video); page: click to "
              "result video in chromium (adds gradio's queue, progress and file copies).",
              f"Run-to-run spread (slowest / fastest) of each way: {spread}. Ratios closer to 1 than that "
              "spread are not differences this run can show."]
    if page is not None:
        lines.append(f"Once per server: start {page.start_seconds:.1f} s, the page's first load "
                     f"{page.load_seconds:.1f} s.")
    else:
        lines.append("page: not measured (no chromium).")
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()
