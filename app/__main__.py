"""``python -m app`` runs the livecodec command."""
import sys

from .entry import main

sys.exit(main())
