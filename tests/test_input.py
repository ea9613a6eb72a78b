"""spacekit._input: what a user names is read only from a regular file, and never without a bound."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from spacekit import ConfigError, ValidationError
from spacekit._input import MAX_FILE, MAX_LINE, lines, max_file, max_line, open_regular, read_regular


def test_the_default_limits_are_1_mib_a_line_and_64_mib_a_file() -> None:
    assert (max_line(), max_file()) == (MAX_LINE, MAX_FILE) == (2**20, 64 * 2**20)


@pytest.mark.parametrize("value", ["0", "-1", "many", "1e6", "9" * 5000])
def test_a_bad_limit_in_the_environment_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SPACEKIT_MAX_FILE_BYTES", value)
    with pytest.raises(ConfigError, match=r"\$SPACEKIT_MAX_FILE_BYTES must be a positive whole number"):
        max_file()


def test_lines_gives_each_line_and_none_for_one_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACEKIT_MAX_LINE_BYTES", "8")
    stream = io.BytesIO(b"short\n" + b"x" * 7 + b"\n" + b"y" * 30 + b"\nlast")
    assert list(lines(stream, "the input")) == [b"short\n", b"x" * 7 + b"\n", None, b"last"]


@pytest.mark.memory_ceiling
def test_lines_stop_at_the_file_limit_on_an_endless_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    monkeypatch.setenv("SPACEKIT_MAX_FILE_BYTES", str(3 * 2**20))
    with pytest.raises(ValidationError, match=r"the input is larger than 3145728 bytes"):
        list(lines(io.BufferedReader(Endless()), "the input"))  # type: ignore[type-var]


def test_a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SPACEKIT_MAX_FILE_BYTES", "10")
    (tmp_path / "ten").write_bytes(b"0123456789")
    (tmp_path / "eleven").write_bytes(b"0123456789a")
    assert read_regular(tmp_path / "ten", None, "ten") == b"0123456789"
    assert list(lines(io.BytesIO(b"0123456789"), "ten")) == [b"0123456789"]
    with pytest.raises(ConfigError, match="eleven is larger than 10 bytes"):
        read_regular(tmp_path / "eleven", None, "eleven")
    with pytest.raises(ValidationError, match="larger than 10 bytes"):
        list(lines(io.BytesIO(b"0123456789a"), "eleven"))


@pytest.mark.memory_ceiling
@pytest.mark.parametrize(
    ("target", "expected"),
    [("/dev/zero", "not a regular file"), ("{tmp}", "a folder"), ("{tmp}/fifo", "not a regular file")],
)
def test_only_a_regular_file_is_opened(tmp_path: Path, target: str, expected: str) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it must not wait for a writer
    (tmp_path / "link").symlink_to(target.format(tmp=tmp_path))
    for path in (target.format(tmp=tmp_path), tmp_path / "link"):
        with pytest.raises(ValidationError, match=expected):
            open_regular(path, None, "the input", ValidationError)


@pytest.mark.memory_ceiling
def test_a_file_over_the_limit_is_refused_from_its_size_before_a_byte_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    with open(path, "wb") as file:
        file.truncate(MAX_FILE + 1)  # a sparse file: its size says enough
    with pytest.raises(ConfigError, match=r"the input is larger than 67108864 bytes \(\$SPACEKIT_MAX_FILE"):
        open_regular(path, None, "the input")
