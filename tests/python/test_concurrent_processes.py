"""Several processes on one workspace file: a component's load reads its
tables as one snapshot, so a writer committing in between never makes a
reader see a half state (false CorruptError, or a consent index sized from one
state and filled from another); and a crafted file is a CorruptError, never a
crash. Processes, not threads: each finding crashed or misread across
connections of different processes."""
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import cdpcore

WRITER = textwrap.dedent(
    """
    import sys, time, cdpcore
    path, seconds = sys.argv[1], float(sys.argv[2])
    ws = cdpcore.Workspace.open(path)
    g = cdpcore.IdentityGraph(ws)
    g.register_default_types()
    store = cdpcore.ProfileStore(ws)
    store.attach_identity(g)
    consent = cdpcore.Consent(ws)
    consent.attach_identity(g)
    print("ready", flush=True)
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        for k in range(200):  # one transaction per link call
            n = i * 200 + k
            g.link({"crm_id": f"M{n}", "email": f"p{n}@example.com", "cookie": f"c{n // 3}"}, source="crm", time=n)
        consent.append("email", f"p{i}@example.com", "marketing", "email", "granted", time=i, now=i)
        i += 1
    print("done", i, flush=True)
    """
)


def test_loads_see_one_snapshot_while_another_process_writes(tmp_path):
    path = str(tmp_path / "shared.cdp")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path, "4"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert writer.stdout.readline().strip() == "ready"
    loads, failures = 0, []
    while writer.poll() is None:
        try:
            ws = cdpcore.Workspace.open(path)
            g = cdpcore.IdentityGraph(ws)
            store = cdpcore.ProfileStore(ws)
            store.attach_identity(g)
            cdpcore.Consent(ws)
            loads += 1
        except cdpcore.BusyError:
            pass  # the writer held the file longer than the busy timeout: not a wrong answer
        except cdpcore.Error as e:
            failures.append(f"{type(e).__name__}: {e}")
    out = writer.stdout.read()
    assert writer.returncode == 0, out
    assert not failures, f"{len(failures)} of {loads + len(failures)} loads failed, e.g. {failures[:3]}"
    assert loads >= 5


CRAFTED = textwrap.dedent(
    """
    import sys, cdpcore
    ws = cdpcore.Workspace.open(sys.argv[1])
    try:
        cdpcore.Consent(ws)
    except cdpcore.CorruptError as e:
        print("CorruptError:", e)
    """
)


def test_a_negative_subject_id_in_the_file_is_a_corrupt_error_not_a_crash(tmp_path):
    path = str(tmp_path / "crafted.cdp")
    ws = cdpcore.Workspace.open(path)
    c = cdpcore.Consent(ws)
    for n in range(3):
        c.append("email", f"p{n}@example.com", "marketing", "email", "granted", time=n, now=n)
    del c, ws
    db = sqlite3.connect(path)
    db.execute("UPDATE consent_subjects SET id = -1000000 WHERE id = 1")
    db.commit()
    db.close()
    # In a child process: before the fix this wrote far outside an array.
    r = subprocess.run([sys.executable, "-c", CRAFTED, path], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "CorruptError: consent_subjects: row id -1000000" in r.stdout
