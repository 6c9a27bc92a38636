"""What only the encoder does: every decision the stream records.

``encoder`` (the state machine and ``Encoder``), its settings (``params``, ``presets``),
motion search (``motion_search``), the refresh frame's palette (``palette``, scikit-learn's
KMeans) and intra modes (``intra_decision``), the forward transform and quantiser
(``quantise``, ``rdoq``), and rate control (``ratecontrol``). Importing this package alone
loads none of them: ``codec/__init__.py`` imports ``Encoder`` on first use.
"""
