"""Which person: choosing one of several (`PersonChoice`, `--person largest|left|right|N|X,Y`) and
following them from frame to frame (`MainPersonTracker`): the chosen one when tracking starts, then
the candidate nearest to the last tracked pose (none when all are farther than MATCH_GATE body
sizes), the chosen one again (by the same rule) after `reacquire_after` frames without them."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import IlatError, NoPersonError

logger = logging.getLogger(__name__)

# A candidate continues the track if its joints lie on average within this many body sizes
# (the diagonal of the last tracked pose's box) of the last tracked joints.
MATCH_GATE = 0.75
PERSON_HELP = "largest|left|right|N|X,Y"


def body_size(joints: np.ndarray) -> float:
    """Diagonal of the box around a (13, 3) pose's joints (its confident ones when there are 3+)."""
    sure = joints[:, 2] >= 0.5
    xy = joints[sure, :2] if sure.sum() >= 3 else joints[:, :2]
    extent = xy.max(axis=0) - xy.min(axis=0)
    return float(np.hypot(*extent)) + 1e-6


def pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean joint distance between two (13, 3) poses, in units of b's body size."""
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean()) / body_size(b)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class PersonChoice:
    """Which of several people to take: rule "largest" (the default), "left" / "right" (the
    leftmost / rightmost by the centre of their joints), "index" (the N-th from the left, 1 =
    leftmost) or "point" (the person whose joints' box is nearest to the point x, y in pixels of
    the picture; 0 when it lies inside the box)."""

    rule: str = "largest"
    index: int = 0
    point: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def parse(cls, text: str | PersonChoice | None) -> PersonChoice:
        """"largest", "left", "right", "N" (N >= 1) or "X,Y"; ValueError saying what is expected."""
        if text is None:
            return cls()
        if isinstance(text, PersonChoice):
            return text
        value = str(text).strip().lower()
        if value in ("largest", "left", "right"):
            return cls(value)
        if value.isdigit():
            if int(value) < 1:
                raise ValueError(f"person: counting starts at 1 (the leftmost person), got {text!r}")
            return cls("index", index=int(value))
        parts = value.split(",")
        if len(parts) == 2:
            try:
                x, y = float(parts[0]), float(parts[1])
            except ValueError:
                pass
            else:
                if np.isfinite(x) and np.isfinite(y) and x >= 0 and y >= 0:
                    return cls("point", point=(x, y))
        raise ValueError(f"person: expected {PERSON_HELP} (the largest, the leftmost, the rightmost, the N-th "
                         f"from the left counting from 1, or the one nearest to pixel X,Y), got {text!r}")

    def __str__(self) -> str:
        if self.rule == "index":
            return str(self.index)
        if self.rule == "point":
            return f"{self.point[0]:g},{self.point[1]:g}"
        return self.rule

    def check_inside(self, where: str, size: tuple[int, int]) -> None:
        """IlatError when the rule is a point outside a (width, height) picture."""
        if self.rule == "point" and (self.point[0] > size[0] or self.point[1] > size[1]):
            raise IlatError(f"{where}: person {self}: the point lies outside the {size[0]}x{size[1]} picture")

    def scaled(self, factor: float) -> PersonChoice:
        """The same choice for the picture scaled by factor (a point moves with it)."""
        if self.rule != "point" or factor == 1.0:
            return self
        return PersonChoice("point", point=(self.point[0] * factor, self.point[1] * factor))

    def pick(self, candidates: Sequence[np.ndarray], where: str, size: tuple[int, int] | None = None) -> int:
        """The index of the chosen one among (13, 3) poses (at least one).

        where: names the picture in errors (e.g. "clip.mp4: frame 0"). size: (width, height) of the
        picture, to refuse a point outside it. Raises NoPersonError when there is no N-th person.
        """
        if size is not None:
            self.check_inside(where, size)
        centres = [float(c[:, 0].mean()) for c in candidates]
        from_left = sorted(range(len(candidates)), key=lambda i: centres[i])
        if self.rule == "largest":
            return max(range(len(candidates)), key=lambda i: body_size(candidates[i]))
        if self.rule == "left":
            return from_left[0]
        if self.rule == "right":
            return from_left[-1]
        if self.rule == "index":
            if self.index > len(candidates):
                found = "1 person was" if len(candidates) == 1 else f"{len(candidates)} people were"
                raise NoPersonError(f"{where}: person {self} asks for the {_ordinal(self.index)} person from the "
                                    f"left, but {found} found")
            return from_left[self.index - 1]
        point = np.array(self.point)
        return min(range(len(candidates)),
                   key=lambda i: (_box_distance(candidates[i], point), body_size(candidates[i])))

    def describe(self, candidates: Sequence[np.ndarray], chosen: int) -> str:
        """One line naming the chosen person among several, e.g. "3 people in view: took the 2nd
        from the left (the largest; --person left|right|N|X,Y takes another)"."""
        centres = [float(c[:, 0].mean()) for c in candidates]
        position = sorted(range(len(candidates)), key=lambda i: centres[i]).index(chosen) + 1
        x0, y0 = candidates[chosen][:, :2].min(axis=0)
        x1, y1 = candidates[chosen][:, :2].max(axis=0)
        rule = "the largest" if self.rule == "largest" else f"person {self}"
        return (f"{len(candidates)} people in view: took the {_ordinal(position)} from the left, around "
                f"x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f} ({rule}; choose another with person "
                f"{PERSON_HELP})")


def _box_distance(joints: np.ndarray, point: np.ndarray) -> float:
    low, high = joints[:, :2].min(axis=0), joints[:, :2].max(axis=0)
    return float(np.linalg.norm(np.maximum(0, np.maximum(low - point, point - high))))


class MainPersonTracker:
    """Chooses, frame by frame, which detected person is the one being followed.

    choice: who is taken when tracking starts (and again after `reacquire_after` frames without
    them). name / size: the source's name and (width, height), for the notice and errors.
    """

    def __init__(self, reacquire_after: int, choice: PersonChoice | str | None = None, *, name: str = "<frames>",
                 size: tuple[int, int] | None = None):
        self.reacquire_after = max(1, int(reacquire_after))
        self.choice = PersonChoice.parse(choice)
        self.name = name
        self.size = size
        self.last: np.ndarray | None = None
        self.missing = 0
        self.switches = 0
        self.frame = -1  # the frame choose() was last called for
        self.told = False

    def continues(self, joints: np.ndarray) -> bool:
        """Whether a (13, 3) pose lies within the gate of the last tracked one (True if none yet)."""
        return self.last is None or pose_distance(joints, self.last) <= MATCH_GATE

    def choose(self, candidates: Sequence[np.ndarray]) -> np.ndarray | None:
        self.frame += 1
        if not candidates:
            self.missing += 1
            return None
        if self.last is None or self.missing > self.reacquire_after:
            if self.last is not None:
                self.switches += 1
            try:
                index = self.choice.pick(candidates, f"{self.name}: frame {self.frame}", self.size)
            except NoPersonError:
                if self.last is None:
                    raise
                self.missing += 1  # after a loss, wait for the chosen one to be back in view
                return None
            if len(candidates) > 1 and not self.told:
                logger.warning("%s: frame %d: %s", self.name, self.frame, self.choice.describe(candidates, index))
                self.told = True
            chosen = candidates[index]
        else:
            distances = [pose_distance(c, self.last) for c in candidates]
            best = int(np.argmin(distances))
            if distances[best] > MATCH_GATE:
                self.missing += 1
                return None
            chosen = candidates[best]
        self.last = chosen
        self.missing = 0
        return chosen
