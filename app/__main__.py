"""``python -m app`` runs the livecodec command."""
import sys

from .cli import main

sys.exit(main())
