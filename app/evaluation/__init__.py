"""Rate-distortion comparison of livecodec with standard codecs, on any frames.

``livecodec compare`` runs it on a user's clip and ``make bench`` on the shared clips; both
measure through these modules, so their numbers agree.

Modules:
    quality  how a point's picture quality is measured (PSNR, sampled SSIM)
    anchors  OpenCV JPEG (MJPEG), ffmpeg MPEG-4 Part 2 and x264, the yuv420p ceiling
    bdrate   Bjontegaard delta rate / PSNR (piecewise cubic or cubic polynomial fit)
    rd       the sweeps: livecodec's qualities and the anchors' settings, and the BD-rates
    rdplot   the RD plot (matplotlib, imported when a plot is drawn)
"""
