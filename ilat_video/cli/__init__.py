"""The `ilat-video` command line. The only part of the package that prints for the user.

One room per area: `animate` (the main job), `poses` (extract, render, convert, retarget),
`evaluate`, `train` (training and synthetic data); `common` holds what they share.
"""
from __future__ import annotations

import logging

import click

from .. import __version__
from . import animate, evaluate, poses, serve, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ilat-video")
@click.option("-v", "--verbose", count=True, help="Show library log messages (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Animate the person in a photo with the motion of a driving video (iLAT).

    \b
    Main job:
      ilat-video animate REFERENCE.png DRIVING.mp4 -o out.mp4
      ilat-video serve    (the same as a local web page; extra [app])
    Poses:
      ilat-video extract-poses VIDEO -o poses.json --overlay overlay.mp4
      ilat-video render-poses poses.json -o skeleton.mp4
      ilat-video convert-poses IN -o OUT --to openpose
      ilat-video retarget poses.json --reference me.png -o on_me.json
    Training and measuring:
      ilat-video synth data/synth --videos 600 --frames 32 --size 128
      ilat-video train-tokenizer --data synthetic --out runs/tok --stage 1
      ilat-video train-transformer --data synthetic --tokenizer runs/tok --out runs/lat
      ilat-video evaluate --model models/demo --data synthetic
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for command in (animate.animate_command, poses.extract_poses_command, poses.render_poses_command,
                poses.convert_poses_command, poses.retarget_command, train.synth_command,
                train.train_tokenizer_command, train.train_transformer_command, evaluate.evaluate_command,
                serve.serve_command):
    main.add_command(command)
