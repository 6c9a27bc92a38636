"""The link's wire formats against byte strings built by hand from the RFC diagrams (RTP with
the RFC 8285 extension, PLI, generic NACK, BYE), the payload header's limits, HMAC tags, XOR
parity, and fragmentation around the 1200-byte datagram limit on loopback."""
from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from livecodec.app.link import (FrameTooLargeError, LinkError, LinkReceiver, LinkSender,
                                parse_endpoint, read_key)
from livecodec.app.link.assembly import FrameAssembly
from livecodec.app.link.auth import RECEIVER_LABEL, SENDER_LABEL, TAG_BYTES, Tagger
from livecodec.app.link.errors import WireError
from livecodec.app.link.fec import MAX_GROUPS, make_parity, parity_groups, recover
from livecodec.app.link.receiver import unwrap
from livecodec.app.link.rtcp import (Bye, End, Nack, Pli, build_bye, build_end, build_nack,
                                     build_pli, is_rtcp, parse_rtcp)
from livecodec.app.link.rtp import (MAX_FRAGMENTS, FragmentHeader, build_rtp, from_ntp,
                                    parse_rtp, to_ntp)
from livecodec.app.link.sender import FRAGMENT_BYTES, MAX_DATAGRAM

KEY = b"0123456789abcdef0123456789abcdef"
#: 2023-11-14 22:13:20.5 UTC as NTP: seconds since 1900, then the fraction 0.5.
CAPTURE = 1_700_000_000.5
CAPTURE_NTP = (1_700_000_000 + 2_208_988_800).to_bytes(4, "big") + bytes([0x80, 0, 0, 0])


# -- RTP (RFC 3550 §5.1) with a one-byte header extension (RFC 8285 §4.2) -------------------
RTP_BY_HAND = bytes([
    0x90,                       # V=2 P=0 X=1 CC=0
    0xE0,                       # M=1 PT=96
    0x12, 0x34,                 # sequence number
    0xDE, 0xAD, 0xBE, 0xEF,     # timestamp
    0x01, 0x02, 0x03, 0x04,     # SSRC
    0xBE, 0xDE, 0x00, 0x03,     # "defined by profile" 0xBEDE, length 3 words
    0x17,                       # ID 1, L 7 (8 bytes)
]) + CAPTURE_NTP + bytes(3) + b"payload"


def test_rtp_header_with_capture_time_matches_the_rfc_layout():
    built = build_rtp(marker=True, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304,
                      capture_time=CAPTURE, payload=b"payload")
    assert built == RTP_BY_HAND
    packet = parse_rtp(RTP_BY_HAND)
    assert (packet.marker, packet.payload_type, packet.sequence, packet.timestamp,
            packet.ssrc) == (True, 96, 0x1234, 0xDEADBEEF, 0x01020304)
    assert packet.capture_time == CAPTURE and packet.payload == b"payload"


def test_rtp_with_csrcs_padding_and_foreign_extension_elements():
    # CC=1, P=1, X=1; extension: a padding byte, element ID 5 (2 bytes), then ID 1 (8 bytes)
    head = bytes([0xB1, 0x60, 0, 7, 0, 0, 0, 9, 0, 0, 0, 1]) + bytes(4)      # + one CSRC
    ext = bytes([0xBE, 0xDE, 0, 4, 0x00, 0x51, 0xAA, 0xBB, 0x17]) + CAPTURE_NTP + bytes(3)
    packet = parse_rtp(head + ext + b"xyz" + bytes([0, 0, 3]))
    assert not packet.marker and packet.sequence == 7 and packet.payload == b"xyz"
    assert packet.capture_time == CAPTURE


def test_rtp_without_extension():
    packet = parse_rtp(bytes([0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]) + b"p")
    assert packet.capture_time is None and packet.payload == b"p"


@pytest.mark.parametrize("bad", [
    b"", bytes(11),                                             # shorter than the header
    bytes([0x40, 0x60]) + bytes(10),                            # version 1
    bytes([0x90, 0x60]) + bytes(10) + bytes([0xBE, 0xDE, 0, 9]),   # extension past the end
    bytes([0xA0, 0x60]) + bytes(10) + bytes([50]),              # padding longer than packet
    bytes([0x8F, 0x60]) + bytes(10),                            # 15 CSRCs that are not there
])
def test_malformed_rtp_is_refused(bad):
    with pytest.raises(WireError):
        parse_rtp(bad)


def test_ntp_time_round_trip():
    assert to_ntp(CAPTURE).to_bytes(8, "big") == CAPTURE_NTP
    assert from_ntp(to_ntp(1234.25)) == 1234.25


# -- the payload header -----------------------------------------------------------------------
def test_fragment_header_layout():
    header = FragmentHeader(frame=0x0102, index=3, count=40, refresh=True)
    assert header.pack() == bytes([0x50, 0, 0x01, 0x02, 0, 3, 0, 40])
    parity = FragmentHeader(frame=7, index=1, count=40, refresh=True, parity=True, groups=7)
    assert parity.pack() == bytes([0x70, 7, 0, 7, 0, 1, 0, 40])
    assert FragmentHeader.unpack(parity.pack() + b"x") == parity


@pytest.mark.parametrize("payload", [
    bytes([0x40, 0, 0, 0, 0, 0, 0, 0]) + b"x",          # count 0
    bytes([0x40, 0, 0, 0, 0, 0, 0xFF, 0xFF]) + b"x",    # absurd count
    bytes([0x40, 0, 0, 0, 0, 5, 0, 5]) + b"x",          # index past count
    bytes([0x80, 0, 0, 0, 0, 0, 0, 1]) + b"x",          # unknown version
    bytes([0x41, 0, 0, 0, 0, 0, 0, 1]) + b"x",          # reserved bits set
    bytes([0x60, 9, 0, 0, 0, 0, 0, 4]) + b"x",          # more parity groups than fragments
    bytes([0x40, 0, 0, 0, 0, 0, 0, 1]),                 # no fragment bytes after it
])
def test_fragment_header_limits(payload):
    with pytest.raises(WireError):
        FragmentHeader.unpack(payload)


# -- RTCP: PLI (RFC 4585 §6.3.1), generic NACK (§6.2.1), BYE (RFC 3550 §6.6) -----------------
def test_pli_layout():
    by_hand = bytes([0x81, 206, 0, 2, 0, 0, 0, 0xAA, 0, 0, 0, 0xBB])
    assert build_pli(0xAA, 0xBB) == by_hand
    assert parse_rtcp(by_hand) == [Pli(0xAA, 0xBB)]


def test_generic_nack_pid_and_blp():
    # 100, 101, 103 -> PID 100, BLP bits 0 and 2; 117 is 17 after 100: a new entry, 118 its bit 0
    by_hand = bytes([0x81, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2,
                     0, 100, 0b0000_0000, 0b0000_0101, 0, 117, 0, 1])
    assert build_nack(1, 2, [103, 101, 100, 118, 117]) == by_hand
    assert parse_rtcp(by_hand) == [Nack(1, 2, (100, 101, 103, 117, 118))]


def test_nack_across_the_sequence_wrap():
    built = build_nack(1, 2, [65535, 65536, 65538])         # extended numbers
    assert built[12:] == bytes([0xFF, 0xFF, 0x00, 0x05])
    assert parse_rtcp(built)[0].sequences == (65535, 0, 2)


def test_bye_and_end_in_one_compound_datagram():
    bye = bytes([0x81, 203, 0, 1, 0x12, 0x34, 0x56, 0x78])
    assert build_bye(0x12345678) == bye
    end = bytes([0x80, 204, 0, 3, 0x12, 0x34, 0x56, 0x78]) + b"LVCE" + bytes([0, 9, 0xFF, 0xFE])
    assert build_end(0x12345678, 9, 0xFFFE) == end
    assert is_rtcp(end + bye) and not is_rtcp(RTP_BY_HAND)
    assert parse_rtcp(end + bye) == [End(0x12345678, 9, 0xFFFE), Bye((0x12345678,))]


def test_unknown_rtcp_is_skipped_and_malformed_refused():
    receiver_report = bytes([0x80, 201, 0, 1, 0, 0, 0, 5])
    assert parse_rtcp(receiver_report + build_pli(1, 2)) == [Pli(1, 2)]
    for bad in (bytes([0x81, 206, 0, 9]) + bytes(8), bytes([0x81, 205, 0, 2]) + bytes(8),
                bytes([0x41, 206, 0, 2]) + bytes(8), bytes([0x81, 206])):
        with pytest.raises(WireError):
            parse_rtcp(bad)


# -- helpers ------------------------------------------------------------------------------------
def test_unwrap_takes_the_nearest_number():
    assert unwrap(2, 65534) == 65538
    assert unwrap(65534, 65538) == 65534
    assert unwrap(5, 3) == 5


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:5004", ("127.0.0.1", 5004)), ("[::1]:5004", ("::1", 5004)),
    ("5004", ("0.0.0.0", 5004)), ("host.example:1", ("host.example", 1))])
def test_parse_endpoint(text, expected):
    assert parse_endpoint(text, default_host="0.0.0.0") == expected


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:0", "x:70000", ":5", "::1:5", "a:b"])
def test_bad_endpoints(text):
    with pytest.raises(LinkError):
        parse_endpoint(text)


def test_key_files(tmp_path):
    good = tmp_path / "good.key"
    good.write_bytes(KEY)
    assert read_key(good) == KEY
    short = tmp_path / "short.key"
    short.write_bytes(b"too short")
    for path in (short, tmp_path / "missing.key", tmp_path):
        with pytest.raises(LinkError, match="key"):
            read_key(path)


def test_hmac_tags_accept_and_reject():
    sender = Tagger(KEY, outgoing=SENDER_LABEL, incoming=RECEIVER_LABEL)
    receiver = Tagger(KEY, outgoing=RECEIVER_LABEL, incoming=SENDER_LABEL)
    sealed = sender.seal(b"datagram")
    assert len(sealed) == len(b"datagram") + TAG_BYTES
    assert receiver.open(sealed) == b"datagram"
    assert sender.open(sealed) is None                           # reflected back: refused
    assert receiver.open(sealed[:-1] + bytes([sealed[-1] ^ 1])) is None
    assert receiver.open(b"datagram") is None and receiver.open(b"") is None
    other = Tagger(KEY[::-1], outgoing=SENDER_LABEL, incoming=RECEIVER_LABEL)
    assert receiver.open(other.seal(b"datagram")) is None


def test_parity_rebuilds_any_one_fragment_of_a_group():
    fragments = [bytes([i]) * (100 - i) for i in range(13)]     # unequal lengths
    groups = parity_groups(len(fragments))
    parity = make_parity(fragments, groups)
    for lost in range(len(fragments)):
        group = lost % groups
        present = [fragments[i] for i in range(group, len(fragments), groups) if i != lost]
        assert recover(parity[group], present) == fragments[lost]
    assert parity_groups(1) == 0


def test_parity_groups_fit_the_header_byte():
    assert parity_groups(6 * 255) == 255 and parity_groups(6 * 255 + 1) == MAX_GROUPS == 255
    assert parity_groups(MAX_FRAGMENTS) == MAX_GROUPS
    header = FragmentHeader(frame=1, index=254, count=MAX_FRAGMENTS, refresh=True, parity=True,
                            groups=MAX_GROUPS)
    assert FragmentHeader.unpack(header.pack() + b"x") == header


def test_a_large_refresh_frame_is_rebuilt_from_its_255_parity_groups():
    count = 2000                                                # groups of 7 or 8 fragments
    pieces = [bytes([i % 251]) * (FRAGMENT_BYTES - i % 3) for i in range(count)]
    groups = parity_groups(count)
    lost = {0, 1, 300, 1999}                                    # groups 0, 1, 45 and 214
    late = {2, 257}                                             # both of group 2: one comes late
    slot = None
    for i in range(count):
        if i not in lost | late:
            header = FragmentHeader(7, i, count, refresh=True)
            if slot is None:
                slot = FrameAssembly(header, 1000 + i, 5, None, 0.0)
            assert slot.add(header, 1000 + i, 5, pieces[i], 0.0)
    for g, body in enumerate(make_parity(pieces, groups)):
        header = FragmentHeader(7, g, count, refresh=True, parity=True, groups=groups)
        assert slot.add(header, 1000 + count + g, 5, body, 0.0)
    assert not slot.complete and slot.recovered == len(lost)
    assert slot.add(FragmentHeader(7, 2, count, refresh=True), 1002, 5, pieces[2], 0.0)
    assert slot.complete and slot.recovered == len(lost) + 1
    assert slot.data() == b"".join(pieces)


# -- fragmentation on loopback ---------------------------------------------------------------------
SIZES = [1, FRAGMENT_BYTES - 1, FRAGMENT_BYTES, FRAGMENT_BYTES + 1, 2 * FRAGMENT_BYTES,
         2 * FRAGMENT_BYTES + 1, 40 * FRAGMENT_BYTES + 7]


@pytest.mark.parametrize("key", [None, KEY])
def test_datagrams_stay_within_1200_bytes_with_marker_on_the_last_fragment(key):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(2.0)
    tagger = Tagger(key, outgoing=RECEIVER_LABEL, incoming=SENDER_LABEL)
    with sink, LinkSender(sink.getsockname(), key=key) as sender:
        for size in SIZES:
            sender.send_frame(b"\x5a" * size, capture_time=CAPTURE, refresh=True)
            count = -(-size // FRAGMENT_BYTES)
            datagrams = [sink.recv(4096) for _ in range(count + parity_groups(count))]
            assert max(len(d) for d in datagrams) <= MAX_DATAGRAM
            packets = [parse_rtp(tagger.open(d)) for d in datagrams]
            assert [p.marker for p in packets] == [i == count - 1 for i in range(len(packets))]
            assert len({p.timestamp for p in packets}) == 1
            assert all(p.capture_time == CAPTURE for p in packets)
            sequences = [p.sequence for p in packets]
            assert sequences == [(sequences[0] + i) & 0xFFFF for i in range(len(packets))]


@pytest.mark.parametrize("key", [None, KEY])
def test_fragments_are_rebuilt_exactly(key):
    with LinkReceiver(("127.0.0.1", 0), key=key) as receiver, \
            LinkSender(("127.0.0.1", receiver.port), key=key) as sender:
        sent = [bytes([n % 251]) * size + struct.pack(">I", n)
                for n, size in enumerate(SIZES * 2)]
        for n, data in enumerate(sent):
            sender.send_frame(data, capture_time=time.time(), refresh=n % 2 == 0)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < len(sent) and time.monotonic() < deadline:
            got += receiver.poll(0.1)
    assert [f.data for f in got] == sent
    assert [f.frame_number for f in got] == list(range(len(sent)))
    assert all(f.capture_time is not None and f.arrived_at >= f.capture_time for f in got)


def test_empty_and_oversized_frames_are_refused():
    with LinkSender(("127.0.0.1", 9)) as sender:
        with pytest.raises(ValueError):
            sender.send_frame(b"", capture_time=0.0, refresh=False)
        for refresh in (False, True):
            with pytest.raises(FrameTooLargeError, match="larger"):
                sender.send_frame(bytes(MAX_FRAGMENTS * FRAGMENT_BYTES + 1), capture_time=0.0,
                                  refresh=refresh)
        # the largest refresh frame the link carries: 4096 fragments and 255 parity groups
        sender.send_frame(bytes(MAX_FRAGMENTS * FRAGMENT_BYTES), capture_time=0.0, refresh=True)
        stats = sender.stats()
    assert issubclass(FrameTooLargeError, LinkError) and issubclass(FrameTooLargeError, ValueError)
    assert stats["frames_sent"] == 1 and stats["fec_packets"] == MAX_GROUPS
    assert stats["packets_sent"] + stats["send_errors"] == MAX_FRAGMENTS + MAX_GROUPS


def test_frames_sent_after_close_are_dropped_quietly():
    sender = LinkSender(("127.0.0.1", 9))
    errors: list[BaseException] = []

    def produce() -> None:                  # an encoder thread that has not noticed the close
        try:
            while sender.stats()["frames_after_close"] < 3:
                sender.send_frame(b"x" * 3000, capture_time=time.time(), refresh=False)
        except BaseException as exc:
            errors.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.05)
    sender.close()
    producer.join(5.0)
    assert not producer.is_alive() and errors == []
    sender.send_frame(b"x", capture_time=0.0, refresh=False)
    assert sender.stats()["frames_after_close"] >= 4


def test_nacks_cover_any_number_of_sequences() -> None:
    """More than MAX_NACK_ENTRIES entries take several messages; every sequence is asked for."""
    from livecodec.app.link.rtcp import MAX_NACK_ENTRIES, build_nacks

    asked = list(range(1000, 1000 + 17 * 3 * MAX_NACK_ENTRIES, 3))   # about 3 entries' worth
    messages = build_nacks(1, 2, asked)
    assert len(messages) > 1 and all(len(m) <= 1200 for m in messages)
    covered = [s for m in messages for msg in parse_rtcp(m) for s in msg.sequences]
    assert sorted(covered) == asked
