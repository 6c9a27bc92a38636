"""What the encoder and the decoder both run, so that their pictures agree bit for bit.

The stream's container and headers (``bitstream``, ``framing``), its symbols (``entropy``,
``syntax``, ``slices``), the picture and its blocks (``blocks``, ``modes``, ``limits``,
``tools``), prediction (``inter_prediction``, ``intra_prediction``), the inverse transform
(``transform``), reconstruction (``reconstruct``) and the in-loop filter (``deblock``); with
the kernels and threads under them (``simd``, ``parallel``), the errors a stream can raise
(``errors``) and the quality measures every user of the codec reports (``metrics``). Nothing
here decides anything: the decisions are ``codec.encoder``'s.
"""
