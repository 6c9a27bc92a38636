"""The live link under loss: recovery time, quality, latency and rate through a lossy relay.

    python -m bench.link [--clip carphone] [--frames 120] [--seed 1] [--json]

Each condition sends the clip in real time (paced at its frame rate) from a LinkSender through
bench.relay.LossyRelay (the same impairment both ways, 2 ms +- 2 ms delay) to a LinkReceiver on
loopback; the receiving side decodes with the concealing decoder and asks for a refresh when it
conceals, as `livecodec receive` does. Per condition: PSNR of every output frame slot against
the source frame (concealed slots included), the share of slots concealed, recovery after a
loss (median over the concealed stretches: frames and milliseconds from the first concealed
slot to the first intact one, by arrival time), the median capture-to-decoded latency, and the
rate on the wire (datagrams, headers included).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import statistics
import sys
import threading
import time

import numpy as np

from livecodec.app.link import LinkReceiver, LinkSender
from livecodec.app.link_commands import decode_received
from livecodec.app.link.rtp import FragmentHeader, build_rtp
from livecodec.codec import FRAME_REFRESH, CodecParams, ConcealingDecoder, Encoder, psnr

from .common import CLIPS, fmt, load_frames
from .relay import Impairment, LossyRelay

__all__ = ["CONDITIONS", "run_condition", "run_link", "markdown"]

_NET = {"delay": 0.002, "jitter": 0.004}
#: Loss models: random loss at 0-10 %, and a Gilbert burst model (enter a burst with 2 % chance
#: per datagram, leave with 40 %: mean bursts of 2.5 datagrams, about 5 % lost in all).
CONDITIONS = {
    "0 %": Impairment(**_NET),
    "1 % random": Impairment(loss=0.01, **_NET),
    "5 % random": Impairment(loss=0.05, **_NET),
    "10 % random": Impairment(loss=0.10, **_NET),
    "bursts (~5 %)": Impairment(burst=(0.02, 0.4), **_NET),
    # A long path: the round trip (80 ms) exceeds the deadline, so NACK cannot repair in time;
    # every loss is concealed and ends with the refresh frame that the PLI asks for.
    "5 % random, 40 ms each way": Impairment(loss=0.05, delay=0.04, jitter=0.004),
    # The link goes dark towards the receiver for OUTAGE_S every OUTAGE_EVERY_S.
    "outages": Impairment(**_NET),
    # A stranger floods the receiver's port with junk (FLOOD_RATE datagrams a second) from
    # before the stream begins, on a clean link with a shared key (without --key or --from, the
    # first valid-looking media would rightly be taken as the sender's).
    "junk flood": Impairment(**_NET),
}
OUTAGE_EVERY_S, OUTAGE_S = 2.0, 0.2
FLOOD_RATE = 5000


def _flood(port: int, stop: threading.Event, seed: int) -> int:
    """Junk at 127.0.0.1:port from a port of its own until stop: random bytes, truncated RTP
    headers, fragment headers with absurd counts, and well-formed media from the wrong address;
    returns how many datagrams were sent."""
    rng = random.Random(seed)
    header = build_rtp(marker=True, sequence=1, timestamp=2, ssrc=3, capture_time=time.time(),
                       payload=b"")
    kinds = (lambda: rng.randbytes(rng.randrange(1, 1400)),
             lambda: header[:rng.randrange(1, len(header))],
             lambda: header + bytes([0x40, 0]) + rng.randbytes(2) + bytes([0xFF, 0xFF, 0xFF, 0xFF]),
             lambda: header + FragmentHeader(rng.randrange(65536), 0, 1).pack() + rng.randbytes(900))
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        started = time.monotonic()
        while not stop.is_set():
            for _ in range(50):
                try:
                    sock.sendto(kinds[sent % len(kinds)](), ("127.0.0.1", port))
                except OSError:         # the receiver's buffer is full: that is the point
                    pass
                sent += 1
            stop.wait(max(0.0, started + sent / FLOOD_RATE - time.monotonic()))
    return sent


def run_condition(frames: list[np.ndarray], fps: float, impairment: Impairment,
                  seed: int, outages: bool = False, flood: bool = False) -> dict:
    """Send ``frames`` through one impaired relay in real time (with ``outages``: a blackout
    towards the receiver every OUTAGE_EVERY_S; with ``flood``: junk at the receiver's port all
    along); the receiving side's figures."""
    rss_before = _peak_rss_mb()
    flooded: list[int] = []
    outage_every = round(OUTAGE_EVERY_S * fps)
    encoder = Encoder(CodecParams(refresh_interval=1000), fps=fps)
    slots: list[tuple[bool, float, float]] = []       # (intact, arrived_at, PSNR)
    latencies: list[float] = []
    key = os.urandom(32) if flood else None
    with LinkReceiver(("127.0.0.1", 0), key=key) as receiver, \
            LossyRelay(("127.0.0.1", receiver.port), impairment, seed=seed) as relay, \
            LinkSender(("127.0.0.1", relay.port), key=key,
                       on_refresh_request=encoder.request_refresh) as sender:
        done = threading.Event()

        def receive() -> None:      # as `livecodec receive` does
            decoder, last = ConcealingDecoder(), None
            while len(slots) < len(frames) and not (done.is_set() and receiver.ended):
                for item in receiver.poll(0.05):
                    picture = decode_received(decoder, item, latencies)
                    intact = picture is not None
                    if intact:
                        last = picture
                    else:
                        receiver.request_refresh()
                    source = frames[item.frame_number % len(frames)]
                    quality = psnr(source, last) if last is not None else 0.0
                    slots.append((intact, item.arrived_at, quality))

        thread = threading.Thread(target=receive, name="bench-link-receive")
        thread.start()
        if flood:
            flooder = threading.Thread(target=lambda: flooded.append(
                _flood(receiver.port, done, seed)), name="bench-link-flood")
            flooder.start()
            time.sleep(0.2)         # the junk comes first
        started = time.monotonic()
        for n, frame in enumerate(frames):
            time.sleep(max(0.0, started + n / fps - time.monotonic()))
            if outages and n % outage_every == outage_every // 2:
                relay.blackout(forward=OUTAGE_S)
            captured = time.time()
            coded = encoder.encode(frame)
            sender.send_frame(coded.data, capture_time=captured,
                              refresh=coded.frame_type == FRAME_REFRESH)
        sender.close()
        done.set()
        thread.join(timeout=10)
        if flood:
            flooder.join(timeout=10)
        stats = receiver.stats()
        sent = sender.stats()
    recoveries = _recoveries(slots)
    return {
        "frames": len(frames), "slots": len(slots),
        "psnr": float(np.mean([q for _, _, q in slots])) if slots else None,
        "concealed_share": sum(not ok for ok, _, _ in slots) / max(1, len(slots)),
        "recovery_frames": statistics.median(r[0] for r in recoveries) if recoveries else None,
        "recovery_ms": statistics.median(r[1] for r in recoveries) if recoveries else None,
        "losses": len(recoveries),
        "latency_ms": 1000 * statistics.median(latencies) if latencies else None,
        "kbps": stats["kbps"], "packets_lost": stats["packets_lost"],
        "nacks_sent": stats["nacks_sent"], "fec_recovered": stats["fec_recovered"],
        "refresh_requests": stats["refresh_requests"], "retransmissions": sent["retransmissions"],
        "junk_sent": sum(flooded),
        "junk_dropped": stats["junk_dropped"] + stats["strangers_dropped"] + stats["bad_tags"],
        "peak_rss_growth_mb": _peak_rss_mb() - rss_before,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (the receiver runs in it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _recoveries(slots: list[tuple[bool, float, float]]) -> list[tuple[int, float]]:
    """(frames, ms) from each first concealed slot to the next intact one."""
    out, start = [], None
    for i, (intact, arrived, _) in enumerate(slots):
        if not intact and start is None:
            start = i
        elif intact and start is not None:
            out.append((i - start, 1000 * (arrived - slots[start][1])))
            start = None
    return out


def run_link(clip: str = "carphone", n_frames: int = 300, seed: int = 1) -> dict:
    frames, fps = load_frames(CLIPS[clip], n_frames)
    results = {name: run_condition(frames, fps, imp, seed, outages=name == "outages",
                                   flood=name == "junk flood")
               for name, imp in CONDITIONS.items()}
    return {"clip": clip, "frames": len(frames), "fps": fps, "conditions": results}


def markdown(result: dict) -> list[str]:
    lines = [f"{result['clip']}, {result['frames']} frames at {result['fps']:.2f} fps, sent in "
             "real time through the lossy relay (same loss both ways, 2-6 ms each way unless "
             f"said; outages: nothing reaches the receiver for {OUTAGE_S * 1000:.0f} ms every "
             f"{OUTAGE_EVERY_S:g} s). Recovery: from the first concealed frame slot to the first "
             "intact one, median over the losses:", "",
             "| loss | PSNR dB | concealed | recovery frames (ms) | losses | latency ms | kbps "
             "| packets lost | NACKs | parity rebuilt | refresh requests |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in result["conditions"].items():
        lines.append(
            f"| {name} | {fmt(r['psnr'], '{:.2f}')} | {r['concealed_share']:.1%} | "
            f"{fmt(r['recovery_frames'], '{:g}')} ({fmt(r['recovery_ms'], '{:.0f}')}) | {r['losses']} | "
            f"{fmt(r['latency_ms'], '{:.1f}')} | {r['kbps']:.0f} | {r['packets_lost']} | "
            f"{r['nacks_sent']} | {r['fec_recovered']} | {r['refresh_requests']} |")
    flood = result["conditions"].get("junk flood")
    if flood:
        lines += ["", f"Junk flood: {flood['junk_sent']:,} junk datagrams sent at the receiver "
                      f"({FLOOD_RATE:,}/s: random bytes, truncated RTP, absurd fragment counts, "
                      f"valid-looking media from another port, none with the key's tag), "
                      f"{flood['junk_dropped']:,} counted and dropped"
                      + (f" ({flood['junk_sent'] - flood['junk_dropped']:,} overflowed the socket "
                         f"buffer)" if flood['junk_sent'] > flood['junk_dropped'] else "")
                      + f"; peak memory of the process grew {flood['peak_rss_growth_mb']:.1f} MB."]
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.link", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", default="carphone", choices=sorted(CLIPS))
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not CLIPS[args.clip].available():
        print(f"clip {args.clip} not found: {CLIPS[args.clip].path}", file=sys.stderr)
        return 2
    result = run_link(args.clip, args.frames, args.seed)
    print(json.dumps(result) if args.json else "\n".join(markdown(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
