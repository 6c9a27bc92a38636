"""``python -m livecodec.app`` runs the livecodec command."""
import sys

from .entry import main

sys.exit(main())
