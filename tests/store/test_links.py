"""The link store (issue 16): Autotask id -> QBO id, how and when each link was made, durable
like the journal (atomic replace + fsync: a link acknowledged survives kill -9)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.store import Store
from sync.store.errors import CorruptFileError
from sync.store.links import Link, LinkBook, LinkMethod

ROOT = Path(__file__).resolve().parents[2]


def test_put_get_replace_remove_and_order(tmp_path):
    book = LinkBook(tmp_path / "links.json")
    assert book.all() == [] and not (tmp_path / "links.json").exists()  # opening creates nothing
    book.put_many([Link("item", 7, "12", LinkMethod.CREATED, autotask_name="Dock"),
                   Link("vendor", 30, "45", LinkMethod.EXACT_NAME, autotask_name="Acme", qbo_name="Acme")])
    made = book.put(Link("vendor", 4, "46", LinkMethod.NEAR_APPROVED, score=94))
    assert made.made_at  # stamped when stored
    assert [(l.kind, l.autotask_id) for l in book.all()] == [("vendor", 4), ("vendor", 30), ("item", 7)]
    assert [l.qbo_id for l in book.all("vendor")] == ["46", "45"]
    book.put(Link("vendor", 30, "99", LinkMethod.BY_HAND))  # one link per Autotask record: replaced
    assert book.get("vendor", 30).qbo_id == "99" and book.get("vendor", 30).method is LinkMethod.BY_HAND
    assert len(book.all("vendor")) == 2
    # The same Autotask id as another kind is another link (organization -> vendor and -> customer).
    book.put(Link("customer", 30, "300", LinkMethod.BY_HAND))
    assert book.get("customer", 30).qbo_id == "300" and book.get("vendor", 30).qbo_id == "99"
    removed = book.remove("vendor", 30)
    assert removed is not None and removed.qbo_id == "99"
    assert book.get("vendor", 30) is None and book.remove("vendor", 30) is None
    book.close()
    reopened = LinkBook(tmp_path / "links.json")
    assert [(l.kind, l.autotask_id, l.qbo_id, l.method) for l in reopened.all()] == [
        ("vendor", 4, "46", LinkMethod.NEAR_APPROVED), ("customer", 30, "300", LinkMethod.BY_HAND),
        ("item", 7, "12", LinkMethod.CREATED)]
    assert reopened.get("vendor", 4).score == 94


def test_store_opens_the_link_book_in_the_data_folder(tmp_path):
    with Store.open(tmp_path / "data") as store:
        store.links.put(Link("vendor", 1, "2", LinkMethod.BY_HAND))
    assert (tmp_path / "data" / "links.json").exists()
    assert oct((tmp_path / "data" / "links.json").stat().st_mode & 0o777) == "0o600"


def test_a_damaged_link_record_is_named_not_read_as_nothing(tmp_path):
    path = tmp_path / "links.json"
    path.write_text(json.dumps({"links": {"1": {"key": "vendor:1", "kind": "vendor", "autotask_id": "x",
                                                 "qbo_id": "2", "method": "by_hand"}}}))
    with pytest.raises(CorruptFileError):
        LinkBook(path).all()
    path.write_text("{not json")
    with pytest.raises(CorruptFileError):
        LinkBook(path).all()


def test_links_survive_kill_9(tmp_path):
    """A writer stores links in a loop and is killed mid-write, several times: every link it
    acknowledged is there, newest value per Autotask record, and the file is always whole."""
    path = tmp_path / "links.json"
    rng = random.Random(16)
    acked: dict[tuple[str, int], str] = {}
    start = 0
    for round_no in range(6):
        proc = subprocess.Popen([sys.executable, "-m", "tests.store.links_writer", str(path), str(start)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        head = proc.stdout.readline()
        assert head == "ready\n", proc.stderr.read()
        time.sleep(rng.uniform(0.05, 0.25))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err
        lines = [line.split() for line in out.splitlines() if line.startswith("L ")]
        for _, kind, at_id, qbo_id in lines:
            acked[(kind, int(at_id))] = qbo_id
        start += len(lines) + 1  # the write in flight may or may not have landed: skip its number
        book = LinkBook(path)
        stored = {(l.kind, l.autotask_id): l.qbo_id for l in book.all()}
        book.close()
        for key, qbo_id in acked.items():
            # The acked value, or the newer one in flight when it was killed.
            assert int(stored[key]) >= int(qbo_id), (round_no, key)
        acked.update(stored)
    assert len(acked) > 10, "the writer hardly wrote anything: the test proves little"
    assert [p.name for p in tmp_path.glob("*.tmp")] == []  # reopening swept the killed writers' temp files


_WRITER = """
import sys
from pathlib import Path
from sync.store.links import Link, LinkBook, LinkMethod
book = LinkBook(Path(sys.argv[1]))
start = int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # both writers start together
for n in range(start, start + int(sys.argv[3])):
    book.put(Link(kind="vendor", autotask_id=n, qbo_id=str(n), method=LinkMethod.BY_HAND))
book.close()
"""


def test_two_processes_writing_links_at_once_lose_none(tmp_path):
    """The engine and `atqbo link` in another process: every link either one stored is there."""
    path = tmp_path / "links.json"
    each = 120
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(start), str(each)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
             for start in (1, 100_001)]
    for proc in procs:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    book = LinkBook(path)
    ids = {link.autotask_id for link in book.all("vendor")}
    book.close()
    assert ids == set(range(1, 1 + each)) | set(range(100_001, 100_001 + each))
