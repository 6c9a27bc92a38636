"""Files the app loads at run time through importlib.resources (see README.md here)."""
