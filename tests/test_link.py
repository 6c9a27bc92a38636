"""The link end to end on loopback: exact frames on a clean link; one sender only, and the next
one after a BYE or silence; repair by NACK and parity; frames given up at their deadline with a
refresh asked for (PLI) and sent; stray and far-off packets, unread frames; keys; and
`livecodec send` / `receive` through a lossy relay with a stranger spraying junk."""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bench.relay import Impairment, LossyRelay
from livecodec.app.cli import main
from livecodec.app.link import LinkReceiver, LinkSender, endpoints
from livecodec.app.link import receiver as receiver_module
from livecodec.app.link import sender as sender_module
from livecodec.app.link.auth import RECEIVER_LABEL, SENDER_LABEL, Tagger
from livecodec.app.link.rtcp import Nack, Pli, build_nack, build_pli, is_rtcp, parse_rtcp
from livecodec.app.link.rtp import FragmentHeader, build_rtp, parse_rtp
from livecodec.app.link_commands import RATE_FRAMES
from livecodec.app.sources import DemoScene
from livecodec.codec import FRAME_REFRESH, CodecParams, Decoder, Encoder, PacketReader
from tests.cli_helpers import one_error_line
from tests.media import read_video

pytestmark = pytest.mark.usefixtures("warm_codec")

REPO = Path(__file__).resolve().parents[1]
KEY, WRONG_KEY = b"right key, 32 bytes long.......", b"wrong key, 32 bytes long......."


def _collect(receiver: LinkReceiver, n: int, seconds: float = 10.0) -> list:
    got: list = []
    deadline = time.monotonic() + seconds
    while len(got) < n and time.monotonic() < deadline:
        got += receiver.poll(0.05)
    return got


def _wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def _packets(n: int, refresh: int = 1000) -> list:
    scene, encoder = DemoScene(160, 120), Encoder(CodecParams(refresh_interval=refresh))
    return [encoder.encode(scene.read()) for _ in range(n)]


class _Peer:
    """A plain UDP socket playing one end of the link by hand."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(2.0)
        self.address = self.sock.getsockname()

    def receive_all(self, seconds: float = 0.3) -> list[bytes]:
        out, deadline = [], time.monotonic() + seconds
        self.sock.settimeout(0.02)
        while time.monotonic() < deadline:
            try:
                out.append(self.sock.recv(4096))
            except socket.timeout:
                pass
        self.sock.settimeout(2.0)
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def peer():
    p = _Peer()
    yield p
    p.close()


def _captured(peer: _Peer, frames: list[bytes], refresh: bool = False) -> list[bytes]:
    """The datagrams a LinkSender sends for ``frames`` (caught by ``peer``)."""
    with LinkSender(peer.address) as sender:
        for data in frames:
            sender.send_frame(data, capture_time=time.time(), refresh=refresh)
        out = peer.receive_all(0.3)
    return [d for d in out if not is_rtcp(d)]


# -- the classes ------------------------------------------------------------------------------
def test_clean_link_delivers_the_encoders_packets_exactly():
    coded = _packets(30, refresh=10)
    with LinkReceiver(("127.0.0.1", 0)) as receiver, \
            LinkSender(("127.0.0.1", receiver.port)) as sender:
        for ef in coded:
            sender.send_frame(ef.data, capture_time=time.time(),
                              refresh=ef.frame_type == FRAME_REFRESH)
            time.sleep(1 / 60)
        sender.close()
        got = _collect(receiver, len(coded))
        deadline = time.monotonic() + 3
        while not receiver.ended and time.monotonic() < deadline:
            time.sleep(0.02)
        assert receiver.ended
        stats = receiver.stats()
    assert [f.data for f in got] == [ef.data for ef in coded]
    assert [f.refresh for f in got] == [ef.frame_type == FRAME_REFRESH for ef in coded]
    decoder = Decoder()
    for f, ef in zip(got, coded):
        assert np.array_equal(decoder.decode(f.data), ef.reconstruction)
    assert stats["frames_received"] == 30 and stats["packets_lost"] == 0
    assert stats["refresh_requests"] == 0 and stats["frames_given_up"] == 0


def test_a_lost_fragment_is_nacked_and_a_frame_past_its_deadline_given_up(peer):
    frames = [bytes([n]) * 3000 for n in range(3)]                  # 3 fragments each
    datagrams = _captured(peer, frames)
    assert len(datagrams) == 9
    with LinkReceiver(("127.0.0.1", 0)) as receiver:
        target = ("127.0.0.1", receiver.port)
        for i, d in enumerate(datagrams):
            if i != 4:                                              # frame 1 misses fragment 1
                peer.sock.sendto(d, target)
        got = _collect(receiver, 3, 3.0)
        feedback = [m for d in peer.receive_all(0.2) for m in parse_rtcp(d)]
        stats = receiver.stats()
    assert [f.data for f in got] == [frames[0], None, frames[2]]
    lost_sequence = parse_rtp(datagrams[4]).sequence
    nacked = {s for m in feedback if isinstance(m, Nack) for s in m.sequences}
    assert nacked == {lost_sequence}
    assert sum(isinstance(m, Pli) for m in feedback) == 1         # rate-limited to one
    assert stats["frames_given_up"] == 1 and stats["refresh_requests"] == 1
    assert stats["packets_lost"] == 1 and stats["nacks_sent"] >= 1


def test_nacked_packet_is_sent_again_and_pli_reaches_the_callback(peer):
    asked = threading.Event()
    with LinkSender(peer.address, on_refresh_request=asked.set) as sender:
        sender.send_frame(b"x" * 5000, capture_time=time.time(), refresh=False)
        sent = [peer.sock.recv(4096) for _ in range(5)]
        sequence = parse_rtp(sent[2]).sequence
        peer.sock.sendto(build_nack(1, sender.ssrc, [sequence]), ("127.0.0.1", sender.local_port))
        assert peer.sock.recv(4096) == sent[2]                     # the same datagram again
        peer.sock.sendto(build_pli(1, sender.ssrc + 1), ("127.0.0.1", sender.local_port))
        peer.sock.sendto(build_pli(1, sender.ssrc), ("127.0.0.1", sender.local_port))
        assert asked.wait(2.0)
        stats = sender.stats()
    assert stats["retransmissions"] == 1 and stats["refresh_requests"] == 1


def test_parity_rebuilds_a_lost_refresh_fragment_without_a_round_trip(peer):
    frame = bytes(range(256)) * 120                                 # 27 fragments
    datagrams = _captured(peer, [frame], refresh=True)
    assert len(datagrams) == 27 + 5
    with LinkReceiver(("127.0.0.1", 0)) as receiver:
        for i, d in enumerate(datagrams):
            if i not in (3, 10):                                    # groups 3 and 0
                peer.sock.sendto(d, ("127.0.0.1", receiver.port))
        got = _collect(receiver, 1, 3.0)
        stats = receiver.stats()
    assert [f.data for f in got] == [frame]
    assert stats["fec_recovered"] == 2 and stats["packets_lost"] == 0


def test_junk_from_the_sender_and_from_strangers_is_counted_and_dropped(peer):
    frames = [bytes([n]) * 2000 for n in range(3)]                  # 2 fragments each
    datagrams = _captured(peer, frames)
    first = parse_rtp(datagrams[0])
    stranger = _Peer()
    rng = random.Random(1)

    def forged(header: FragmentHeader, sequence: int, payload: bytes = b"z" * 50) -> bytes:
        return build_rtp(marker=False, sequence=sequence, timestamp=first.timestamp,
                         ssrc=first.ssrc, capture_time=None, payload=header.pack() + payload)

    junk = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 1500))) for _ in range(20)]
    junk += [datagrams[0][:11], datagrams[0][:20], b"\x80\x60" + bytes(200),
             datagrams[1][:12] + bytes([0x40, 0, 0, 0, 0, 0, 0xFF, 0xFF]) + b"x",
             forged(FragmentHeader(0, 0, 3), first.sequence + 1),    # count differs from 2
             forged(FragmentHeader(30000, 0, 1), first.sequence + 9),   # absurd jump
             forged(FragmentHeader(0, 1, 2), first.sequence + 1, b"z" * 3000)]  # oversized
    try:
        with LinkReceiver(("127.0.0.1", 0)) as receiver:
            target = ("127.0.0.1", receiver.port)
            for d in junk[:5]:                       # before the stream: must not lock on junk
                stranger.sock.sendto(d, target)
            time.sleep(0.05)
            peer.sock.sendto(datagrams[0], target)   # the stream begins: this is the sender
            for d in junk:
                peer.sock.sendto(d, target)
                stranger.sock.sendto(d, target)
            stranger.sock.sendto(datagrams[1], target)   # valid media from another port
            for d in datagrams[1:]:
                peer.sock.sendto(d, target)
            got = _collect(receiver, 3, 3.0)
            stats = receiver.stats()
    finally:
        stranger.close()
    assert [f.data for f in got] == frames
    assert stats["junk_dropped"] == 5 + len(junk)
    assert stats["strangers_dropped"] == len(junk) + 1
    assert stats["frames_given_up"] == 0 and stats["sender"] == "%s:%d" % peer.address


def test_wrong_key_lets_nothing_in_either_way(peer):
    with LinkReceiver(("127.0.0.1", 0), key=KEY) as receiver:
        with LinkSender(("127.0.0.1", receiver.port), key=WRONG_KEY) as sender:
            for n in range(5):
                sender.send_frame(b"f" * 2000, capture_time=time.time(), refresh=False)
            sent = sender.stats()["packets_sent"]
            assert _collect(receiver, 1, 0.5) == []
        # The sender's closing BYEs reach the receiver's thread when they do: wait for them.
        assert _wait_for(lambda: receiver.stats()["bad_tags"] >= sent + 3)
        stats = receiver.stats()
    assert not receiver.started and stats["bad_tags"] == sent + 3     # the BYEs too
    # and the sender drops feedback without the right tag
    asked = threading.Event()
    with LinkSender(peer.address, key=KEY, on_refresh_request=asked.set) as sender:
        back = ("127.0.0.1", sender.local_port)
        peer.sock.sendto(build_pli(1, sender.ssrc), back)
        peer.sock.sendto(Tagger(WRONG_KEY, outgoing=RECEIVER_LABEL, incoming=SENDER_LABEL)
                         .seal(build_pli(1, sender.ssrc)), back)
        assert not asked.wait(0.3)
        peer.sock.sendto(Tagger(KEY, outgoing=RECEIVER_LABEL, incoming=SENDER_LABEL)
                         .seal(build_pli(1, sender.ssrc)), back)
        assert asked.wait(2.0)
        assert sender.stats()["bad_tags"] == 2


def test_ended_waits_until_the_last_frames_are_polled():
    frames = [bytes([n]) * 3000 for n in range(5)]
    with LinkReceiver(("127.0.0.1", 0)) as receiver:
        with LinkSender(("127.0.0.1", receiver.port)) as sender:
            for data in frames:
                sender.send_frame(data, capture_time=time.time(), refresh=False)
        # close() repeated its BYE for 0.2 s: the receiver has it, and every frame is out
        assert _wait_for(lambda: receiver.stats()["frames_received"] == len(frames))
        assert not receiver.ended
        got = receiver.poll(0.0)
        assert _wait_for(lambda: receiver.ended)
    assert [f.data for f in got] == frames


def _outside(first, k: int) -> bytes:
    """Frame 3000 + k of ``first``'s stream, one fragment: what the sender sends after an
    outage of 100 s (frame numbers and sequence numbers far outside the receiver's windows)."""
    return build_rtp(marker=True, sequence=(first.sequence + 20000 + k) & 0xFFFF,
                     timestamp=first.timestamp + 9_000_000 + 3000 * k, ssrc=first.ssrc,
                     capture_time=None, payload=FragmentHeader(3000 + k, 0, 1).pack() + bytes([k]) * 900)


def test_a_late_packet_with_a_far_sequence_number_does_not_stop_the_stream(peer):
    frames = [bytes([n]) * 2000 for n in range(6)]                  # 2 fragments each
    datagrams = _captured(peer, frames)
    first = parse_rtp(datagrams[0])
    forged = build_rtp(marker=False, sequence=(first.sequence + 30000) & 0xFFFF,
                       timestamp=first.timestamp, ssrc=first.ssrc, capture_time=None,
                       payload=FragmentHeader(0, 0, 2).pack() + b"z" * 50)
    with LinkReceiver(("127.0.0.1", 0)) as receiver:
        target = ("127.0.0.1", receiver.port)
        for d in datagrams[:6]:
            peer.sock.sendto(d, target)
        got = _collect(receiver, 3, 3.0)                          # frame 0 is now behind
        peer.sock.sendto(forged, target)
        for d in datagrams[6:]:
            peer.sock.sendto(d, target)
        got += _collect(receiver, 3, 3.0)
        stats = receiver.stats()
    assert [f.data for f in got] == frames
    assert stats["junk_dropped"] == 1 and stats["frames_given_up"] == 0


def test_the_stream_resumes_after_an_outage_longer_than_the_windows(peer):
    frames = [bytes([n]) * 2000 for n in range(3)]
    datagrams = _captured(peer, frames)
    first = parse_rtp(datagrams[0])
    resync = receiver_module.RESYNC_PACKETS
    with LinkReceiver(("127.0.0.1", 0)) as receiver:
        target = ("127.0.0.1", receiver.port)
        for d in datagrams:
            peer.sock.sendto(d, target)
        got = _collect(receiver, 3, 3.0)
        for k in range(resync + 4):
            peer.sock.sendto(_outside(first, k), target)
        got += _collect(receiver, 5, 3.0)
        stats = receiver.stats()
    # the first RESYNC_PACKETS - 1 are refused; the next starts the stream afresh
    assert [f.data for f in got] == frames + [bytes([k]) * 900 for k in range(resync - 1, resync + 4)]
    assert stats["resyncs"] == 1 and stats["junk_dropped"] == resync - 1
    assert stats["frames_given_up"] == 0


def test_after_bye_no_other_sender_is_taken():
    """The stream is over at the BYE: a second sender (even with the key) is a stranger, so
    the counts a receiver reports at its end are its sender's alone."""
    with LinkReceiver(("127.0.0.1", 0), key=KEY) as receiver:
        target = ("127.0.0.1", receiver.port)
        with LinkSender(target, key=KEY) as first:
            for n in range(3):
                first.send_frame(b"a%d" % n * 500, capture_time=time.time(), refresh=False)
            port = first.local_port
        got = _collect(receiver, 3, 3.0)
        assert _wait_for(lambda: receiver.ended)
        with LinkSender(target, key=KEY) as second:
            second.send_frame(b"b" * 500, capture_time=time.time(), refresh=False)
            assert _wait_for(lambda: receiver.stats()["strangers_dropped"] >= 1)
        assert _collect(receiver, 1, 0.3) == [] and receiver.ended
        stats = receiver.stats()
    assert [f.data for f in got] == [b"a%d" % n * 500 for n in range(3)]
    assert stats["senders_replaced"] == 0 and stats["sender"] == f"127.0.0.1:{port}"
    assert stats["frames_received"] == 3


def test_a_new_sender_takes_over_from_one_that_fell_silent(peer, monkeypatch):
    monkeypatch.setattr(receiver_module, "SENDER_TIMEOUT_S", 0.3)
    first = [bytes([n]) * 2000 for n in range(3)]
    second = [bytes([100 + n]) * 2000 for n in range(3)]
    crashed, restarted = _captured(peer, first), _captured(peer, second)    # RTCP (BYE) left out
    other = _Peer()
    try:
        with LinkReceiver(("127.0.0.1", 0)) as receiver:
            target = ("127.0.0.1", receiver.port)
            for d in crashed:
                peer.sock.sendto(d, target)
            got = _collect(receiver, 3, 3.0)
            time.sleep(0.5)
            for d in restarted:
                other.sock.sendto(d, target)
            got += _collect(receiver, 3, 3.0)
            stats = receiver.stats()
    finally:
        other.close()
    assert [f.data for f in got] == first + second
    assert stats["senders_replaced"] == 1 and stats["sender"] == "%s:%d" % other.address


def test_unpolled_frames_are_capped_and_a_refresh_asked_for():
    cap = receiver_module.MAX_READY_FRAMES
    frames = [n.to_bytes(2, "big") * 20 for n in range(cap + 16)]
    asked = threading.Event()
    with LinkReceiver(("127.0.0.1", 0)) as receiver, \
            LinkSender(("127.0.0.1", receiver.port), on_refresh_request=asked.set) as sender:
        for data in frames:
            sender.send_frame(data, capture_time=time.time(), refresh=False)
        assert _wait_for(lambda: receiver.stats()["frames_received"] == len(frames))
        assert asked.wait(2.0)
        got = receiver.poll(0.0)
        stats = receiver.stats()
    assert [f.data for f in got] == frames[16:]
    assert stats["unread_dropped"] == 16 and stats["refresh_requests"] == 1


def test_a_capped_receive_buffer_is_said_once(monkeypatch, capfd):
    monkeypatch.setattr(endpoints, "RECEIVE_BUFFER_BYTES", 1 << 30)   # more than the OS grants
    with LinkReceiver(("127.0.0.1", 0)) as receiver:
        assert "net.core.rmem_max" in receiver.buffer_warning
        assert receiver.stats()["receive_buffer_bytes"] == receiver.receive_buffer_bytes < 1 << 30
    port = _free_port()
    assert main(["receive", "--listen", f"127.0.0.1:{port}", "--quit-after", "0.3", "--json"]) == 1
    err = capfd.readouterr().err
    assert err.count("rmem_max") == 1 and "livecodec: warning: the OS limits" in err


def test_close_is_quick_and_leaves_no_thread():
    receiver = LinkReceiver(("127.0.0.1", 0))
    sender = LinkSender(("127.0.0.1", receiver.port))
    started = time.monotonic()
    sender.close()
    receiver.close()
    assert time.monotonic() - started < 1.5
    assert not [t for t in threading.enumerate() if t.name.startswith("livecodec-link")]


# -- the commands ---------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_bound(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


def _spray(port: int, stop: threading.Event, relay: LossyRelay) -> None:
    """Junk at the receiver from another port until stop: malformed datagrams from the start,
    valid-looking media too once the stream has begun (before it, the first valid media would
    rightly be taken as the sender's: --key or --from is the defence there)."""
    rng = random.Random(7)
    header = build_rtp(marker=True, sequence=1, timestamp=2, ssrc=3, capture_time=time.time(),
                       payload=b"")
    kinds = [lambda: bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 1300))),
             lambda: header[:rng.randrange(1, 16)],
             lambda: header + FragmentHeader(5, 0, 1).pack()[:6] + bytes([0xFF, 0xFF, 0])]
    valid = lambda: header + FragmentHeader(rng.randrange(65536), 0, 1).pack() + b"v" * 500
    began = None
    sent, deadline = 0, time.monotonic() + 30
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not stop.is_set() and time.monotonic() < deadline:
            if began is None and relay.forward.forwarded:
                began = time.monotonic()
            make = kinds[sent % len(kinds)]
            if began is not None and time.monotonic() > began + 0.3 and sent % 4 == 3:
                make = valid
            s.sendto(make(), ("127.0.0.1", port))
            sent += 1
            stop.wait(0.01)


def _outage(relay: LossyRelay, after: float, stop: threading.Event, **blackout: float) -> None:
    """A blackout ``after`` seconds into the stream (from its first datagram through)."""
    while not relay.forward.forwarded:
        if stop.wait(0.005):
            return
    if not stop.wait(after):
        relay.blackout(**blackout)


def test_send_and_receive_through_loss_junk_and_an_outage(tmp_path):
    frames, port = 120, _free_port()
    out, rx_save, tx_save = tmp_path / "out.avi", tmp_path / "rx.lvc", tmp_path / "tx.lvc"
    receiver = subprocess.Popen(
        [sys.executable, "-m", "livecodec.app", "receive", "--listen", f"127.0.0.1:{port}",
         "-o", str(out), "--fourcc", "FFV1", "--save", str(rx_save), "--json",
         "--quit-after", "60"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    lossy = Impairment(loss=0.05, delay=0.003, jitter=0.004, reorder=0.02, duplicate=0.01)
    stop_spray = threading.Event()
    try:
        _wait_until_bound(port)
        with LossyRelay(("127.0.0.1", port), lossy, seed=3) as relay:
            spray = threading.Thread(target=_spray, args=(port, stop_spray, relay))
            spray.start()
            # frames lost to the outage are asked for while the way back is still out, so
            # they are given up, and the refresh request gets through only afterwards
            outage = threading.Thread(target=_outage, args=(relay, 1.5, stop_spray),
                                      kwargs={"forward": 0.3, "back": 0.8})
            outage.start()
            try:
                assert main(["send", "demo", "--size", "160x120", "--frames", str(frames),
                             "--refresh", "1000", "--to", f"127.0.0.1:{relay.port}",
                             "--save", str(tx_save)]) == 0
            finally:
                stop_spray.set()
                outage.join()
                spray.join()
        stdout, stderr = receiver.communicate(timeout=30)
    finally:
        receiver.kill()
        receiver.wait()
    assert receiver.returncode == 0, stderr
    stats = json.loads(stdout.strip().splitlines()[-1])
    written = read_video(out)
    assert len(written) == frames == stats["frames_written"], stats
    assert stats["frames_received"] + stats["frames_given_up"] == frames
    assert stats["refresh_requests"] >= 1 and stats["frames_concealed"] >= 1
    assert stats["nacks_sent"] >= 1 and stats["packets_lost"] >= 1
    assert stats["junk_dropped"] + stats["strangers_dropped"] >= 10
    assert stats["strangers_dropped"] >= 1
    with open(tx_save, "rb") as f:
        sent_packets = list(PacketReader(f))
    refreshes = [p.frame_index for p in sent_packets if p.type == 0]
    assert len(sent_packets) == frames and len(refreshes) >= 2    # frame 0, and asked ones
    decoder = Decoder()
    reference = [decoder.decode_packet(p).image for p in sent_packets]
    exact = {i for i, (a, b) in enumerate(zip(written, reference)) if np.array_equal(a, b)}
    # a requested refresh restored the picture, in its own slot (a loss late in the stream
    # may still leave the last frames concealed: their refresh comes after the end)
    assert exact & set(refreshes[1:]) and len(exact) >= frames // 3
    with open(rx_save, "rb") as f:
        saved = list(PacketReader(f))
    assert {p.frame_index: p.payload for p in saved}.items() <= \
        {p.frame_index: p.payload for p in sent_packets}.items()


def test_receive_o_writes_a_stream_joined_mid_way(tmp_path):
    """The first frame slots bring predicted frames without their refresh (the receiver joined
    late): the video opens at the first picture, black for every slot before it."""
    port, out = _free_port(), tmp_path / "joined.avi"
    asked, sent = threading.Event(), []

    def send() -> None:
        scene, encoder = DemoScene(160, 120), Encoder(CodecParams(refresh_interval=1000))
        encoder.encode(scene.read())                # the refresh this receiver never sees
        with LinkSender(("127.0.0.1", port), on_refresh_request=asked.set) as sender:
            deadline, after_ask = time.monotonic() + 20, None
            while time.monotonic() < deadline and (after_ask is None or after_ask < 12):
                if after_ask == RATE_FRAMES + 1:
                    encoder.request_refresh()       # the receiver's first picture
                coded = encoder.encode(scene.read())
                sender.send_frame(coded.data, capture_time=time.time(),
                                  refresh=coded.frame_type == FRAME_REFRESH)
                sent.append(coded)
                if asked.is_set():                  # the receiver is up and asking
                    after_ask = (after_ask or 0) + 1
                time.sleep(1 / 30)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        code = main(["receive", "--listen", f"127.0.0.1:{port}", "-o", str(out), "--fourcc",
                     "FFV1", "--json", "--quit-after", "30"])
    finally:
        sender.join()
    assert code == 0
    written = read_video(out)
    pictures = [coded.reconstruction for coded in sent[-(12 - RATE_FRAMES - 1):]]
    blank = [frame for frame in written if not frame.any()]
    assert len(blank) > RATE_FRAMES and len(written) == len(blank) + len(pictures)
    assert all(np.array_equal(a, b) for a, b in zip(written[len(blank):], pictures))


def test_send_skips_a_frame_too_large_for_the_link_and_goes_on(monkeypatch, capfd, peer):
    monkeypatch.setattr(sender_module, "MAX_FRAGMENTS", 3)   # refresh frames are 6 fragments
    assert main(["send", "demo", "--size", "160x120", "--frames", "4",
                 "--to", "%s:%d" % peer.address]) == 0
    err = capfd.readouterr().err
    assert err.count("livecodec: warning: frame 0 not sent: a frame of") == 1
    assert "; 4 frames too large for the link not sent" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, fragment", [
    (["send", "demo", "--to", "127.0.0.1"], "HOST:PORT"),
    (["send", "demo", "--to", "no-such-host.invalid:5004"], "cannot resolve"),
    (["receive", "--listen", "127.0.0.1:99999", "--json"], "1..65535"),
])
def test_bad_addresses_are_one_line_errors(argv, fragment, capfd):
    assert main(argv) == 2
    assert fragment in one_error_line(capfd)


def test_a_port_in_use_is_one_line_and_exit_2(capfd, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert main(["receive", "--listen", f"127.0.0.1:{port}", "--quit-after", "1",
                     "--json"]) == 2
        assert "in use" in one_error_line(capfd)
        assert main(["send", "demo", "--frames", "1", "--to", "127.0.0.1:9",
                     "--port", str(port)]) == 2
        assert "in use" in one_error_line(capfd)
        short = tmp_path / "short.key"
        short.write_bytes(b"secret")
        assert main(["receive", "--listen", "0", "--key", str(short), "--json"]) == 2
        assert "at least 16" in one_error_line(capfd)


def test_receive_without_a_stream_ends_after_quit_after(capfd):
    started = time.monotonic()
    port = _free_port()
    assert main(["receive", "--listen", f"127.0.0.1:{port}", "--quit-after", "0.5", "--json"]) == 1
    assert time.monotonic() - started < 5
    captured = capfd.readouterr()
    assert json.loads(captured.out)["frames_received"] == 0
    assert "no stream arrived" in captured.err
