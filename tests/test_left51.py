"""Session 51's small fixes: Name A–Z orders numbers by value, prices in exponent or date form, direction marks and
zero-width characters in a search, a file-size limit and an unwritable character described as such, ``--help`` to a
full stdout, a desktop entry read within a bound."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine import desktop_entry
from engine.advice import FAT32_LARGEST, Context, describe
from engine.catalog import Catalog
from engine.errors import DecorLensError
from engine.name_order import name_key
from engine.prices import price_value

try:
    import resource
except ImportError:  # Windows
    resource = None

ROOT = Path(__file__).resolve().parent.parent
NO_LIMITS = pytest.mark.skipif(resource is None, reason="no resource limits on this system")
LIMIT = 20_000  # bytes a file of the child's: under a catalog's WAL index (32 KiB), over what it writes else

# Names in "Name A–Z" order: numbers by their value, wherever they are, with their accents and case folded.
NUMBERED = ("Shelf 2", "shelf 007", "Shelf 10", "Shelf 10 b", "Shelf 10x20", "Shelf 10x100", "Shelf 100",
            "Shelf a", "Söderhamn 9", "SÖDERHAMN 12", "Table 80x28", "Table 120x28")


def test_runs_of_digits_sort_by_their_value(tmp_path: Path, ikea: Path) -> None:
    """"Shelf 10" came before "Shelf 2" (digits compared one by one): the catalog's order of names of ASCII (keyed
    by SQLite) and of others (keyed by Python) alike."""
    photo = next((ikea / "products" / "clock").glob("*.jpg"))
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        with catalog.transaction():
            catalog.db.executemany(
                "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'x', ?, ?, '')",
                [(f"S{i}", name, str(photo), f"h{i}") for i, name in enumerate(reversed(NUMBERED))])
        assert [p.name for p in catalog.products(order="name")] == list(NUMBERED)
    assert name_key("Shelf ２") == name_key("shelf 2")  # full-width digits, as NFKD reads them


@pytest.mark.parametrize(("text", "value"), [
    ("1.2999E+3", 1299.9), ("1,2999E+03 €", 1299.9), ("2.5e2 USD", 250.0),  # a spreadsheet's exponent notation
    ("0.125", 0.125), ("$0,125", 0.125),  # an eighth, not a hundred and twenty-five
    ("2026-12-07", None), ("07/12/2026", None), ("07.12.2026", None), ("7.12.26", None), ("Sale 2026-12-07", None),
    ("1.299.000", 1299000.0), ("1,29,999", 129999.0), ("10-20 €", 10.0), ("¥12,800", 12800.0)])  # as before
def test_prices_in_exponent_or_date_form(text: str, value: float | None) -> None:
    """A date in a price column was read as its first number (2,026; 7; 7,122,026), "1.2999E+3" as 1.2999 and
    "0.125" as 125: each sorted far from where it belongs. A date is now no price (an import names it)."""
    assert price_value(text) == value


def test_invisible_characters_typed_do_not_count_in_a_search(tmp_path: Path, ikea: Path) -> None:
    """Direction marks, zero-width characters and soft hyphens in the text typed (a name pasted from a right-to-left
    page) were matched as characters: "BILLY" pasted with its marks found nothing."""
    photo = next((ikea / "products" / "clock").glob("*.jpg"))
    names = {"P1": "BILLY bookcase", "P2": "שולחן BILLY", "P3": "İNCE lamp", "P4": "ince shelf", "P5": "bench 7"}
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        with catalog.transaction():
            catalog.db.executemany(
                "INSERT INTO products (sku, name, category, image_path, image_hash, price) VALUES (?, ?, 'x', ?, ?, '')",
                [(sku, name, str(photo), f"h{sku}") for sku, name in names.items()])

        def found(text: str) -> list[str]:
            return sorted(p.sku for p in catalog.products(text=text))

        assert found("\u200fBI\u00adLLY\u200e") == ["P1", "P2"]
        assert found("\u202b\u2067BILLY\u2069\u202c\ufeff\u200b\u200c\u200d") == ["P1", "P2"]
        assert found("\u200f") == ["P1", "P2", "P3", "P4", "P5"]  # nothing typed that shows
        # an "i" is LIKE's i (and I) in every name, and İ in the names that hold one
        assert found("ince") == ["P3", "P4"]
        assert found("in") == ["P3", "P4"]


def _file_size_limit() -> None:
    """The child may write files of ``LIMIT`` bytes, as on a drive whose largest file is that: a longer write fails
    (EFBIG, not a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@NO_LIMITS
def test_a_catalog_at_a_file_size_limit_is_not_called_damaged(tmp_path: Path) -> None:
    """A file of the catalog's that could not grow past the largest size a file may have there (a FAT32 stick's
    4 GB; here the child's own limit) was "damaged (disk I/O error)", to be moved aside and imported again."""
    data = tmp_path / "data"
    Catalog(data / "catalog.sqlite").close()  # its WAL and WAL index go with it: the child makes them
    done = subprocess.run([sys.executable, "-m", "decorlens", "--data-dir", str(data), "catalog", "stats"],
                          check=False, capture_output=True, text=True, cwd=ROOT, timeout=120,
                          preexec_fn=_file_size_limit)
    assert done.returncode == 2 and "damaged" not in done.stderr, done.stderr
    assert "reached the largest file this program may write (20,000 bytes" in done.stderr, done.stderr


@NO_LIMITS
def test_a_write_past_a_file_size_limit_says_so(tmp_path: Path) -> None:
    """The same limit met by a write into the catalog (SQLite: "disk I/O error", or "database or disk is full",
    which read as a full disk): the child writes until it fails and describes what it met."""
    script = (f"import resource, signal, sys; from pathlib import Path; from engine.catalog import Catalog; "
              f"from engine.advice import Context, describe; data = Path(sys.argv[1]); "
              f"catalog = Catalog(data / 'catalog.sqlite'); signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              f"resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT * 10}, {LIMIT * 10}))\n"
              "try:\n with catalog.transaction():\n  catalog.db.executemany('INSERT INTO products (sku, name, "
              "category, image_path, image_hash) VALUES (?, ?, ?, ?, ?)', ((f'S{i}', 'n' * 500, 'c', 'p', f'h{i}') "
              "for i in range(2000)))\nexcept Exception as exc:\n print(describe(exc, Context(data_dir=data)))")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False, capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.stdout.startswith(f"the catalog {tmp_path / 'catalog.sqlite'} reached the largest file this "
                                  f"program may write ({LIMIT * 10:,} bytes"), (done.stdout, done.stderr)


def test_a_catalog_file_at_fat32s_limit_is_said_to_be_on_fat32(tmp_path: Path) -> None:
    """A WAL of 4 GB less a byte (a sparse file: no disk used) beside a catalog whose write failed."""
    with open(tmp_path / "catalog.sqlite-wal", "wb") as wal:
        wal.truncate(FAT32_LARGEST)
    line = describe(sqlite3.OperationalError("disk I/O error"), Context(data_dir=tmp_path))
    assert line == (f"the catalog {tmp_path / 'catalog.sqlite'} reached the largest file its drive can hold (4 GB: "
                    "the drive is formatted FAT32); move the data folder to a drive formatted NTFS, ext4, APFS or "
                    "exFAT")


@pytest.mark.parametrize(("text", "encoding", "line"), [
    ("/photos/caf\udce9/a.jpg", "utf-8", ('cannot write "/photos/caf\\udce9/a.jpg" as utf-8 text: byte 0xe9 of '
                                         "a file or folder name there is not UTF-8 (U+DCE9 stands for it); "
                                         "rename that file or folder")),
    ("Crème lamp", "ascii", ('cannot write "Crème lamp" as ascii text: ascii has no è (U+00E8); write to a file '
                             "or terminal that takes UTF-8 (PYTHONUTF8=1 makes Python's own output UTF-8)"))])
def test_text_that_cannot_be_written_is_not_called_an_input_not_utf8(text: str, encoding: str, line: str) -> None:
    """A UnicodeEncodeError (a file name's undecodable byte written as UTF-8, a letter to an ASCII file) read
    "feed.csv: not UTF-8 text ...; save it again as UTF-8", blaming the input for what could not be written."""
    with pytest.raises(UnicodeEncodeError) as raised:
        text.encode(encoding)
    assert describe(raised.value, Context(inputs=("feed.csv",))) == line


def _files_of_16_bytes() -> None:
    """The child may write 16 bytes a file, as on a full disk: a longer write fails (EFBIG, not a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


@NO_LIMITS
@pytest.mark.parametrize("args", [["--help"], ["catalog", "import", "--help"], ["--version"]])
def test_help_to_a_full_stdout_fails_as_any_report_does(tmp_path: Path, args: list[str]) -> None:
    """``decorlens --help > /dev/full`` exited 0, the help lost: argparse drops a write that fails. (Here a file
    that cannot grow stands for /dev/full: never a device.)"""
    (tmp_path / "help.txt").write_text("x" * 16)  # as full as the child may write it: its first write fails
    with open(tmp_path / "help.txt", "a") as out:
        done = subprocess.run([sys.executable, "-m", "decorlens", *args], check=False, stdout=out, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, timeout=120, preexec_fn=_files_of_16_bytes)
    assert (done.returncode, done.stderr) == (2, "decorlens: error: stdout: File too large\n")


@pytest.mark.skipif(not desktop_entry.supported(), reason="desktop entries are for Linux desktops")
def test_a_desktop_entry_is_read_within_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry in DecorLens's place was read whole at each start: a file of gigabytes there filled memory. Past
    ``MAX_ENTRY_BYTES`` it is no entry of DecorLens's (a sparse file: no disk used), as one that is not UTF-8."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    entry = desktop_entry.install(("/opt/DecorLens/DecorLens",))
    assert desktop_entry.installed_program() == "/opt/DecorLens/DecorLens"
    with open(entry, "ab") as grown:
        grown.truncate(desktop_entry.MAX_ENTRY_BYTES + 1)
    assert desktop_entry.installed_program() is None
    with pytest.raises(DecorLensError, match="a desktop entry DecorLens did not write"):
        desktop_entry.install(("/opt/DecorLens/DecorLens",))  # nor is it replaced: someone's own, by hand
