"""The livecodec application: frame sources, the threaded pipeline, recording, the window and the CLI."""
