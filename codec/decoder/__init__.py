"""The decoder: packets in, pictures out (``decoder``), concealment of damaged streams
(``recovery``) and a stream's description without decoding it (``streaminfo``). It only
parses and runs ``codec.common``: everything it does, the encoder did first.
"""
