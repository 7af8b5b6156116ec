"""Part-wise warping of the reference person to a target pose, with a per-pixel confidence.

    ref = prepare_reference(photo, mask, pose, extras)          # once per reference photo
    result = warp_to_pose(ref, target_pose, out_shape=(H, W), target_extras=target_extras)  # per frame
    frame = result.over(background)                             # the warped person over a plate

or in one call: `warp_person(photo, mask, pose, target_pose)`. No learned weights; numpy + OpenCV.
Poses are (13, 3) joints (x, y, confidence); extras are MediaPipe's (10, 3) hand and foot points
(pose.mapping.EXTRA_NAMES: r/l index and pinky knuckles, thumbs, heels, toes), both optional.

How it works
------------
1. Parts (PART_NAMES): torso, head, upper arms, forearms (with the hands), thighs, shanks (with
   the feet), and hands and feet of their own (below). The forearm's capsule reaches past the
   wrist over the hand (to 1.6 x the knuckles' distance, or 0.45 x the forearm), the shank's past
   the ankle to the heel and the toe (or 0.2 x the shank) when the reference's extras place them.
   In the reference each person pixel is owned by one of the first ten parts: the part whose bone is
   nearest in units of that part's radius (an arm owns every pixel inside its own capsule, as arms
   are drawn in front of the body; what lies behind the shoulder or hip joint, seen from the
   elbow or knee, is the torso's; at an elbow or knee each limb keeps to its side of the line
   through the joint that halves the bend, or a thigh wider than its shin would own a wedge of the
   shin). A capsule is only a guess at the arm's outline, so an arm then
   gives back to the body the capsule pixels whose colours the body around it explains better than
   the arm's own (`colour.release_by_colour`; WarpConfig.arms_by_colour): the strip of shorts beside
   a hanging hand, the edge of the top along an upper arm, the shirt around an arm across the chest,
   which would otherwise travel with the arm; a forearm wider than its capsule then claims the
   strip of its own skin the capsule missed (`colour.claim_by_colour`: it stayed on the shorts'
   side as a pale line, on a jacket as a patch of the hand). What the histograms leave along an arm's inner side
   is judged again by nearest colours (`colour.rims_by_colour`; WarpConfig.rims_by_colour): the
   wall seen between an arm and the waist, which MediaPipe calls person, is not drawn, and the
   shadowed edge of the shorts beside it goes to the body. Small pieces of body an arm surrounds
   on every side (skin inside a hand resting on the thigh) go to that arm
   (`reference._islands_to_arms`), and over the hand what the release would give the body in the
   hand's own colours stays with it (`colour._fingers`: the pale edge of fingers resting on the
   shorts); thin strands of arm reaching into the body go to the body (`reference._strands_to_body`:
   hair lying along an upper arm, judged pixel by pixel, trailed below the raised arm as wisps).
   The arms then turn about elbows on their middle lines (`elbows.py`; WarpConfig.medial_elbows):
   MediaPipe often puts an elbow near an arm's edge, and an arm bent in the target turned each half
   about that point, the elbow torn open between two lobes. Each elbow is moved by the mean of how
   far the middle of each half's own pixels lies from its bone, and every target's elbows alike,
   each half's offset along the target bone's normal at the body's scale (legs and spine): the
   pose itself still gives back the reference.
   Around the joints that link two parts
   (neck, elbows, hips, knees; at the shoulders only the torso) each part also owns its
   neighbour's pixels within a disc:
   the overhang that fills the outer side of a bent joint (at an elbow or knee the disc reaches the
   silhouette's edge, up to 1.5 x the narrower limb's radius; at an elbow no farther than the arm's
   own pixels reach across it, `reference.ELBOW_DISC_OWN`: an arm hanging against the body has the
   default radius, and a raised arm carried a knob of forearm past its elbow); the torso also holds the crotch, the
   thighs' pixels in the triangle between the hips and 0.4 of the way to the knees
   (`reference.CROTCH_DEPTH`), which it does not draw where legs spread apart stretch the shorts'
   own crotch over the V between them (step 3). Where an
   arm hides the body (a hand against the side of the shorts: the arm pixels a closing of the body's
   outline takes in, and lower than a third of the way down the torso those between the body's
   visible side and that side carried on straight under an arm lying along it,
   `reference._sides_under_arms`; arms folded
   across the chest: every arm pixel inside the torso's polygon), the
   body part that would own them were there no arms also draws them, filled from its own visible
   pixels around them one material at a time (denim above a hem, skin below it:
   `spread.fill_by_material`; a leg's from its rows first, so that a cuff ends level behind a
   hand: `reference.HEMMED_PARTS`, and an upright strip of the trunk's, so that a top's upper edge
   carries on under a hanging arm: `reference.TRUNK_STRIP`; these row fills are shaded to meet the
   part's own pixels round them, the thigh in a hand's shadow: `reference._shaded_to_rim`), with
   the detail of its pixels beside them reflected along the rows (the denim's weave, a cuff's
   stitched roll: `reference._with_detail`), under the arms: when the arm moves away they show
   instead of a hole (WarpConfig.hidden_body). Along the seam between an
   arm and the body the photo's pixels mix the two (a dark rim of denim along a forearm that lay on
   the shorts): each side's pixels within SEAM_WIDTH x the forearm's radius of the other are also
   kept in its own colours from a little deeper (`reference._clean_seams`); each side draws those
   wherever the other no longer lies beside it in the target, and the photo's own seam where it
   still does (the pose itself gives back the photo). The arms and the body share the pixels along
   the boundary between them, each side's share ramping over about a pixel across that boundary
   smoothed (`reference._arm_share`, `_body_share`; WarpConfig.antialias_arms): an arm turned away
   from the body has a straight edge there, not the photo's staircase of whole pixels. The person's
   soft edge is drawn in the colours of its solid pixels beside it (`reference._decontaminated`;
   WarpConfig.clean_outline): the photo mixes it with what stood behind, a pale rim of sky along an
   arm moved in front of the sea.
   A limb the photo
   shows pointing at the camera (its bone under 0.4 x its other side's) is drawn, in the frames that
   straighten it past STAND_IN_STRETCH x its length in the photo, from the other side's pixels
   mirrored about the body's vertical axis, moved by the mirrored bone (WarpConfig.
   mirror_foreshortened), not stretched from its few own pixels. A leg the photo shows mostly
   hidden behind the other (its thigh's or shank's share of the pixels, per pixel of bone, under
   half the other's) is drawn from the other leg as it is (both feet point one way in a turned
   view), in the frames that move its knee or ankle clear of the other's
   (WarpConfig.copy_hidden_legs): the strip the photo shows of it was a thin stick with a spike
   for a shoe. An arm with a joint the pose calls hidden (confidence under ARM_JOINT_HIDDEN), the
   other arm's seen, is behind the head or body there (WarpConfig.hidden_arms): up to its far
   joint it owns no pixel within the head's or torso's radius (a tennis player's far forearm,
   behind his face, took the face with it; the head's reach ends at the nose of a face seen in
   profile, `reference._face_reach`), and a part of it the photo shows mostly hidden (its
   pixels beside its bone, per pixel of bone, under half the other arm's) is drawn from the other
   arm, mirrored, in the frames that move its elbow or wrist clear of the head or torso that hid it.
   Hands and feet (EXTREMITIES): where the reference's extras show a hand's knuckles or a foot's
   heel and toe with confidence > WarpConfig.extras_confidence, its forearm's or shank's pixels are
   also cut in two, by the nearer of the limb's bone and the hand's or foot's segments: the limb
   without it and the hand or foot, each overhanging the other at the wrist or ankle (a disc of the
   limb's radius), as at the other joints. These cut parts are drawn only for a target that places
   the hand or foot (step 2); otherwise the whole limb is: bit for bit the warp without target extras.
2. One transform per part, reference pixels -> target pixels (2x3 affine):
   limbs: the reference bone onto the target bone (rotation, stretch along the bone, the body's
   scale `g` across it); torso: least-squares affine from the reference's 4 corners (shoulders,
   hips) to the target's; head: turned as the shoulder line turns (as the spine turns where either
   pose shows the shoulders side-on, under HEAD_SHOULDERS_SIDE_ON x the spine, and the two turns
   differ by more than HEAD_SHOULDERS_DISAGREE), and further as the neck->nose direction turns by
   at most HEAD_TILT_LIMIT (less, then not at all, where the photo's nose sits far to the side of
   its neck, a face seen turned: HEAD_TURNED), scale g, neck onto neck.
   g = median over the bones of target length / reference length.
   Hands and feet: a limb move of their own bone, wrist -> knuckles' midpoint or ankle -> toe
   (the wrist and ankle stay on the target's; stretched at most EXTREMITY_STRETCH x g), when
   warp_to_pose gets target extras that place them confidently, and the limb is drawn; their limb
   is then drawn without them. They stay on their limb (the whole limb drawn, as without target
   extras) when the target's points are missing or unconfident, when the hand or foot is folded
   onto itself (its bone or its width, index to pinky or heel to toe, under EXTREMITY_FOLD x g x
   the reference's: a heel on the toe) or turned more than EXTREMITY_TURN_LIMIT against its limb,
   and a foot turned more than FOOT_TURN_LIMIT from the photo's (pointing elsewhere: turned toward
   or away from the camera, which turning the photo's shoe in the picture cannot show).
3. Backward warping: for each output pixel in a part's target box, the reference pixel it comes
   from under that part's transform (cv2.warpAffine, bilinear); near a hip, the torso and the thigh
   both fetch through one blend of their two transforms (`blend.py`, WarpConfig.blend_hips), so
   that the shorts bend into a leg turned away instead of tearing into a flap below a notch (also
   into both thighs brought forward, drawn short, in a squat seen side-on). Legs
   spread apart stretch the shorts' crotch into the V; the torso's crotch pixels are then not
   drawn (they would hang below as a second pair of hems), but where the legs close together they
   fill the crack between the thighs (`render._crotch_from_below`). The colour fetched is
   premultiplied by person mask x ownership (a soft mask is taken through a smoothstep from 0.25
   to 0.75, so the pixels it is unsure of do not travel as faint ghosts of the background). Parts
   of one layer
   (body: torso, head, legs; arms: both arms) are mixed by coverage where they agree or only share
   a pixel (exact: the pose itself gives back the reference), and where they overlap and disagree
   (a joint that bent) by skinning weights exp(-distance to the part's target bone / (radius x
   blend)): the nearer bone wins, over a seam about `blend` radii wide. The arms layer is drawn
   over the body layer (where the two only share a pixel, their coverages add).

Output (WarpResult): the warped person's RGB, its alpha (coverage: 0 = no reference person pixel
lands here) and a confidence in [0, 1] that says how far the pixel can be trusted:

    confidence = alpha x trust(part) x seam

- trust(part) = exp(-(rotation / 120 deg)^2 / 2) x exp(-(ln(stretch ratio) / 0.4)^2 / 2)
  x exp(-(ln(magnification) / 1.1)^2 / 2), from the part's 2x2 linear map (rotation of its polar
  decomposition; ratio and size of its singular values): 1 for a part that did not move or was
  only translated, lower for strong rotation, foreshortening/stretching or enlargement.
- seam = exp(-(spread / (0.03 x torso height))^2), spread = the coverage-weighted spread of the reference
  locations the contributing parts fetch this pixel from: 1 where one part draws the pixel or all
  agree (a pose that did not change), low where parts that moved differently overlap; times, around
  each joint (neck, shoulders, elbows, hips, knees; wrists and ankles where a hand or foot moved
  on its own), 1 - dip x exp(-r^2 / (2 sigma^2)): dip =
  1 - exp(-(gap / (0.03 x torso height))^2), gap = how far apart the joint's two parts fetch the
  rim of the joint (reference pixels), r = distance to the joint, sigma = 0.75 x the joint's radius.
  A joint that bent by more than about 20 degrees is a seam of confidence near 0.
- 0 wherever alpha is 0.

Parts that are not drawn (their pixels get alpha and confidence 0 and are left to generation;
listed in WarpResult.skipped and logged; a hand or foot goes with its limb, and is never listed):
- a part whose joints have confidence <= WarpConfig.min_confidence in either pose;
- the torso when the target torso is *collapsed*: its spine (shoulder midpoint to hip midpoint)
  under COLLAPSED_SPINE of the reference's at body scale (the shoulders fell onto the hips);
- the head when the target torso is *mirrored* (below) and WarpConfig.turned_around is off.

A target whose torso is *mirrored* (below: the driving person turned their back) is drawn, with
WarpConfig.turned_around, as the photo's front with the target's left and right joints swapped:
each arm and leg comes from the photo's one on that side of the body and joins the torso as it did
in the photo, and the head is drawn from its back (`back.back_of_head`: the face filled from the
hair round it) at FALLBACK_TRUST x its trust. Without it, the torso falls back as below, each limb
is drawn from its own side (joined to the torso's other side) and the head is not drawn.

Torsos the reference cannot show as they are, drawn along the spine instead (the reference's
front moved as a bone from neck to pelvis, the right way round, at the width the target shows
between SIDE_ON_WIDTH and 1 of the reference's) with FALLBACK_TRUST x their trust, so that they
are marked for repair rather than left as a hole:
- *mirrored*: the target torso's orientation, the sign of cross(shoulder/hip direction, spine),
  is the opposite of the reference's (the person turned around; with WarpConfig.turned_around
  the sides are swapped instead, above);
- *twisted*: the target's shoulder line points against its hip line;
- *side-on*: its area cross(across, spine) is under WarpConfig.collapse_ratio of the reference's
  at body scale, or its shoulder width under a fifth of the reference's.
A reference seen edge-on itself (area under 0.2 torso height^2) cannot be checked: its torso is
moved as a bone along the spine at body scale.

Coordinates: x, y pixels, the reference's for the reference pose and the output's for the target
pose (any output size and aspect). Masks: True / 1 = person.

Files: parts.py (the parts' table, WarpConfig, reading a pose), geometry.py (distances and
affines), reference.py (step 1: prepare_reference), transforms.py (step 2: part_transforms and
trust), render.py (step 3: warp_to_pose, WarpResult).
"""
from .geometry import fit_affine, limb_matrix, segment_distance, similarity_matrix
from .parts import (
    ARMS_LAYER,
    BASE_PARTS,
    BODY_LAYER,
    DEFAULT_RADIUS,
    EXTREMITIES,
    HEAD_PART,
    L_FOOT,
    L_FORE,
    L_HAND,
    L_SHANK,
    L_THIGH,
    L_UPPER,
    LIMB_BONES,
    LIMB_CHAINS,
    LINKS,
    PART_JOINTS,
    PART_LAYER,
    PART_NAMES,
    R_FOOT,
    R_FORE,
    R_HAND,
    R_SHANK,
    R_THIGH,
    R_UPPER,
    ROOT_LIMBS,
    TORSO,
    WarpConfig,
    link_joints,
    link_point,
)
from .reference import SOFT_MASK, Extremity, WarpReference, prepare_reference
from .render import SKIN_STRIDE, WarpResult, warp_person, warp_to_pose
from .transforms import (
    EXTREMITY_FOLD,
    EXTREMITY_STRETCH,
    EXTREMITY_TURN_LIMIT,
    FALLBACK_TRUST,
    FOOT_TURN_LIMIT,
    HEAD_SHOULDERS_SIDE_ON,
    HEAD_TILT_LIMIT,
    MIN_FOLLOW_RUN,
    MIN_SCALE,
    MIN_TURN_RUN,
    SIDE_ON_WIDTH,
    STAND_IN_STRETCH,
    PartTransform,
    body_scale,
    part_transforms,
    steady_follow,
    steady_turns,
    torso_state,
    transform_trust,
    turned_around,
)

__all__ = [
    "ARMS_LAYER",
    "BASE_PARTS",
    "BODY_LAYER",
    "DEFAULT_RADIUS",
    "EXTREMITIES",
    "EXTREMITY_FOLD",
    "EXTREMITY_STRETCH",
    "EXTREMITY_TURN_LIMIT",
    "FOOT_TURN_LIMIT",
    "MIN_FOLLOW_RUN",
    "MIN_TURN_RUN",
    "FALLBACK_TRUST",
    "HEAD_PART",
    "HEAD_SHOULDERS_SIDE_ON",
    "HEAD_TILT_LIMIT",
    "SIDE_ON_WIDTH",
    "STAND_IN_STRETCH",
    "LIMB_BONES",
    "LIMB_CHAINS",
    "LINKS",
    "L_FOOT",
    "L_FORE",
    "L_HAND",
    "L_SHANK",
    "L_THIGH",
    "L_UPPER",
    "MIN_SCALE",
    "PART_JOINTS",
    "PART_LAYER",
    "PART_NAMES",
    "ROOT_LIMBS",
    "R_FOOT",
    "R_FORE",
    "R_HAND",
    "R_SHANK",
    "R_THIGH",
    "R_UPPER",
    "SKIN_STRIDE",
    "SOFT_MASK",
    "TORSO",
    "Extremity",
    "PartTransform",
    "WarpConfig",
    "WarpReference",
    "WarpResult",
    "body_scale",
    "fit_affine",
    "limb_matrix",
    "part_transforms",
    "steady_follow",
    "steady_turns",
    "prepare_reference",
    "segment_distance",
    "similarity_matrix",
    "torso_state",
    "transform_trust",
    "turned_around",
    "warp_person",
    "warp_to_pose",
    "link_joints",
    "link_point",
]
