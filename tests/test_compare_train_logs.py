"""scripts/compare_train_logs.py: paired per-step differences of two training logs."""
from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "compare_train_logs.py"


def load_script():
    spec = importlib.util.spec_from_file_location("compare_train_logs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_log(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def parse_rows(stdout: str) -> list[list[str]]:
    lines = [l for l in stdout.splitlines() if l.startswith("| ") and not l.startswith("| steps")]
    return [[c.strip() for c in l.strip("|").split("|")] for l in lines]


@pytest.mark.parametrize("seed", range(5))
def test_windows_hold_the_paired_means_of_the_shared_steps(tmp_path, seed):
    rng = random.Random(seed)
    first_steps = range(10, 1010, 10)
    other_steps = range(10, 1310, 10) if seed % 2 else range(0, 770, 10)  # partly overlapping
    first = [{"step": s, "loss": rng.uniform(2, 8)} for s in first_steps]
    other = [{"step": s, "loss": rng.uniform(2, 8)} for s in other_steps]
    other.insert(3, {"event": "resumed"})  # records without a step are skipped
    a = write_log(tmp_path / "a", first)
    b = write_log(tmp_path / "b", other)
    window = rng.choice([100, 250, 500])
    run = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b), "--keys", "loss", "--window", str(window)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    by_step_a = {r["step"]: r["loss"] for r in first}
    by_step_b = {r["step"]: r["loss"] for r in other if "step" in r}
    shared = sorted(by_step_a.keys() & by_step_b.keys())
    rows = parse_rows(run.stdout)
    covered = []
    for steps, mean_a, mean_b, diff in rows:
        lo, hi = map(int, steps.split("-"))
        chunk = [s for s in shared if lo <= s <= hi]
        assert chunk and chunk[0] == lo and chunk[-1] == hi
        assert lo // window == hi // window  # one window per row
        covered += chunk
        expect_a = sum(by_step_a[s] for s in chunk) / len(chunk)
        expect_b = sum(by_step_b[s] for s in chunk) / len(chunk)
        assert float(mean_a) == pytest.approx(expect_a, abs=6e-5)
        assert float(mean_b) == pytest.approx(expect_b, abs=6e-5)
        assert float(diff.split()[0]) == pytest.approx(expect_a - expect_b, abs=1e-4)
        lower = sum(by_step_a[s] < by_step_b[s] for s in chunk) / len(chunk)
        assert diff.split()[1] == f"({lower:.0%})"
    assert covered == shared  # every shared step lands in exactly one row


def test_a_resumed_step_counts_once_with_its_last_value(tmp_path):
    module = load_script()
    a = write_log(tmp_path / "a", [{"step": 10, "loss": 5.0}, {"step": 20, "loss": 9.0}, {"step": 20, "loss": 3.0}])
    records = module.read_log(str(a))
    assert records[20]["loss"] == 3.0 and sorted(records) == [10, 20]


def test_bad_logs_fail_with_the_file_named(tmp_path):
    a = write_log(tmp_path / "a", [{"step": 10, "loss": 5.0}])
    b = write_log(tmp_path / "b", [{"step": 20, "loss": 5.0}])
    disjoint = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b)], capture_output=True, text=True)
    assert disjoint.returncode == 2 and "share no step" in disjoint.stderr
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "log.jsonl").write_text('{"step": 10, "loss": 1.0}\nnot json\n')
    broken = subprocess.run([sys.executable, str(SCRIPT), str(a), str(tmp_path / "c")], capture_output=True, text=True)
    assert broken.returncode == 2 and "log.jsonl, line 2" in broken.stderr
    missing = subprocess.run([sys.executable, str(SCRIPT), str(a), str(tmp_path / "none")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no training log" in missing.stderr
