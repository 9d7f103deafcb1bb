"""Captured streams: append-only while the program runs; read whole, the same tokens and
markers as the text read at once, also where they straddle two read chunks."""

import fcntl
import os

import pytest

from xlt.execution.capture import READ_CHUNK, Logs, append_only_supported, markers_in, tokens


def test_tokens_and_markers_across_chunk_boundaries_match_the_whole_text(tmp_path):
    # A 3-byte ideographic space (whitespace to str.split), a token and a marker, each cut by
    # a chunk boundary; a byte that is not UTF-8 decodes as U+FFFD, as for the head.
    chunk = READ_CHUNK
    text = (
        "x" * (chunk - 1)
        + "\u3000"
        + "y" * (chunk - 3)
        + "tokens "
        + " " * (chunk - 8)
        + "ERROR end"
    )
    data = text.encode() + b" \xff tail"
    for needle, boundary in (("\u3000", chunk), ("tokens", 2 * chunk), ("ERROR", 3 * chunk)):
        at = data.index(needle.encode())
        assert at < boundary < at + len(needle.encode()), needle  # it really straddles
    path = tmp_path / "stdout"
    path.write_bytes(data)
    assert list(tokens(path)) == (text + " \ufffd tail").split()
    assert markers_in(path, ("ERROR", "missing")) == {"ERROR"}
    assert markers_in(path, ()) == set()


def test_output_files_are_append_only_while_the_program_runs(tmp_path):
    # What a program could do to its own stdout/stderr to hide a failure marker.
    if not append_only_supported(tmp_path):
        pytest.skip("no append-only attribute here (needs root and ext4/xfs/btrfs/tmpfs)")
    paths = (tmp_path / "stdout", tmp_path / "stderr")
    with Logs(paths) as logs:
        fd = logs.fds[1]
        os.write(fd, b"Assertion failed\n")
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 0)
        with pytest.raises(PermissionError):
            fcntl.fcntl(fd, fcntl.F_SETFL, 0)  # dropping O_APPEND
        os.pwrite(fd, b"x" * 16, 0)  # an overwrite at offset 0 lands at the end instead
    assert paths[1].read_bytes() == b"Assertion failed\n" + b"x" * 16
    with Logs(paths):  # reopened for the next run: emptied (the attribute was cleared)
        pass
    assert paths[1].read_bytes() == b""
    for path in paths:
        path.unlink()  # removable again
