"""`python -m ilat_video ...` is `ilat-video ...`."""
from .cli import main

main()
