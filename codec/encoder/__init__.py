"""What only the encoder does: every decision the stream records.

``encoder`` (the state machine and ``Encoder``), its settings (``params``, ``presets``), block
statistics and the slice count (``analysis``), motion search (``motion_search``), the refresh
frame's palette (``palette``, scikit-learn's KMeans) and intra modes (``intra_decision``), the
forward transform and quantiser (``quantise``, ``rdoq``), and rate control (``ratecontrol``).
``codec/__init__.py`` loads only ``params`` and ``presets`` up front (``CodecParams``); the rest
comes with ``Encoder``, on first use.
"""
