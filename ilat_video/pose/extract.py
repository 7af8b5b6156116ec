"""Pose extraction with MediaPipe's PoseLandmarker (BlazePose GHUM, 33 landmarks) -> 13 joints.

    poses = extract_poses("dance.mp4")          # PoseSequence (T, 13, 3), pixels of the video
    joints = extract_image_pose("me.png")       # (13, 3) for a single photo
    person = extract_image_person("me.png")     # the photo's pose + person mask + hand/foot points

Crop and refine (refine.py, the default): MediaPipe's landmarks are nearly perfect once the
person fills the picture it is given, and its detector misses people small in a wide frame. So a
photo's people are found again in a square crop around each of them (overlapping tiles are
searched when the whole photo shows nobody), and in a video the landmarker (VIDEO mode, one
person) runs on a crop that follows the person from frame to frame (on the whole frame while they
fill it); the whole frame (then tiles) is searched only when they are lost, and once found again
they are followed back through the frames just missed. Which person, when several are in view:
`person=` ("largest" (default), "left", "right", "N" (N-th from the left), "X,Y" (nearest to that
pixel)); the choice is logged as a warning naming who was taken. A video's person is chosen where
they are first found, then the candidate nearest to the last tracked pose is followed (a candidate
too far from it is not taken; after REACQUIRE_SECONDS without them the choice is made again, with a
warning).
refine=False: the old path, the landmarker on whole frames (one person per frame when the first
frame shows at most one, else 2).

Confidence of a joint = MediaPipe's `visibility` of the landmark it comes from: the landmarker's
estimate (a sigmoid, in [0, 1]) that the point is visible in the picture and not occluded or
outside it. Positions of joints with low visibility are still the landmarker's guess, kept as is.
Every joint of a detected person has confidence >= MIN_CONFIDENCE, so a frame with a person never
looks empty; frames where nobody was found keep confidence 0 for all joints (see PoseSequence).

Files: landmarker.py (the model file and MediaPipe's landmarker), mapping.py (33 landmarks -> 13
joints and 10 hand/foot points), refine.py (crops and the tile search), tracking.py (choosing
and following the person), extract_video.py
(videos), extract_image.py (single photos), accuracy.py (PCK against labels). This module hands
their public names on; to patch one (a constant, PROJECT_MODEL), patch the module that uses it.
"""
from .accuracy import match_people, pck
from .extract_image import (
    ImagePerson,
    extract_image_person,
    extract_image_pose,
    extract_image_pose_and_mask,
    extract_image_poses,
)
from .extract_video import (
    DEFAULT_MAX_GAP,
    MULTI_PERSON_NUM_POSES,
    PROBE_NUM_POSES,
    REACQUIRE_SECONDS,
    ExtractionResult,
    ProgressCallback,
    _people_at_start,  # noqa: F401 (an old private name, below)
    extract_poses,
    extract_poses_report,
)
from .landmarker import (
    MODEL_ENV,
    MODEL_FILENAME,
    MODEL_URL,
    Landmarker,
    find_pose_model,
)
from .mapping import (
    BODY_FROM_MEDIAPIPE,
    DEFAULT_HEAD,
    EXTRA_FLIP_PERMUTATION,
    EXTRA_NAMES,
    EXTRAS_FROM_MEDIAPIPE,
    HEAD_CHOICES,
    MIN_CONFIDENCE,
    landmarks_to_extras,
    landmarks_to_joints,
)
from .refine import CROP_MARGIN, REFINE_SIZE, CropBox, search_tiles
from .tracking import MATCH_GATE, PERSON_HELP, MainPersonTracker, PersonChoice

# The old private names, still used by benchmarks/bench_extract.py (_Landmarker) and
# tests/test_extract.py (_MainPersonTracker, _people_at_start).
_Landmarker = Landmarker
_MainPersonTracker = MainPersonTracker

__all__ = [
    "BODY_FROM_MEDIAPIPE",
    "CROP_MARGIN",
    "CropBox",
    "DEFAULT_HEAD",
    "DEFAULT_MAX_GAP",
    "EXTRAS_FROM_MEDIAPIPE",
    "EXTRA_FLIP_PERMUTATION",
    "EXTRA_NAMES",
    "HEAD_CHOICES",
    "MATCH_GATE",
    "MIN_CONFIDENCE",
    "MODEL_ENV",
    "MODEL_FILENAME",
    "MODEL_URL",
    "MULTI_PERSON_NUM_POSES",
    "PERSON_HELP",
    "PROBE_NUM_POSES",
    "REACQUIRE_SECONDS",
    "ExtractionResult",
    "ImagePerson",
    "Landmarker",
    "MainPersonTracker",
    "PersonChoice",
    "ProgressCallback",
    "REFINE_SIZE",
    "extract_image_person",
    "extract_image_pose",
    "extract_image_pose_and_mask",
    "extract_image_poses",
    "extract_poses",
    "extract_poses_report",
    "find_pose_model",
    "landmarks_to_extras",
    "landmarks_to_joints",
    "match_people",
    "pck",
    "search_tiles",
]
