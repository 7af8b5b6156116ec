"""ilat-video: animate the person in a photo with someone else's motion (iLAT)."""
import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
