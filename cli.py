"""Run the CLI from a checkout: `python cli.py ...` is `ilat-video ...`."""
from ilat_video.cli import main

main()
