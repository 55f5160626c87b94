"""cdpcore.Bitmap: algebra against Python sets, NumPy in/out, and Roaring's
portable format read and written by pyroaring (an independent implementation)."""
import hashlib
import pickle
import random

import numpy as np
import pytest

import cdpcore

# pyroaring 1.x (CRoaring 4.x) wrote these bytes; they pin the format even
# where pyroaring is not installed.
PYROARING_RUNS_HEX = "3b30020004000004000100020003000f270000010002000300050000000100ffff0100400d0f27"
PYROARING_RUNS_VALUES = [0, 1, 2, 3, 5, 65536, 65537, 131071] + list(range(200000, 210000))
# sha256 of pyroaring's serialisation of range(0, 300000, 3) (arrays and bitsets).
PYROARING_STRIDE3_SHA256 = "2409e6eebd499b617b67780372d1f35c4923d106f323abe98895981114eb48a4"


def random_set(rng, universe, n):
    return set(rng.sample(range(universe), n))


def mixed_set(rng):
    s = set()
    for _ in range(rng.randint(1, 4)):
        base = rng.randrange(6) << 16
        kind = rng.randrange(3)
        if kind == 0:
            s.update(base | rng.randrange(65536) for _ in range(rng.randint(1, 3000)))
        elif kind == 1:
            s.update(base | rng.randrange(65536) for _ in range(rng.randint(5000, 30000)))
        else:
            start = rng.randrange(65536)
            s.update(base | v for v in range(start, min(65536, start + rng.randint(1, 20000))))
    return s


def test_algebra_equals_python_set_algebra_on_random_sets():
    rng = random.Random(5)
    for round_ in range(12):
        a = mixed_set(rng) if round_ % 2 else random_set(rng, 100_000, 2000)
        b = mixed_set(rng) if round_ % 3 else random_set(rng, 100_000, 3000)
        ba, bb = cdpcore.Bitmap(sorted(a)), cdpcore.Bitmap(np.array(sorted(b), dtype=np.uint32))
        if round_ % 2:
            ba.optimize()
        assert set((ba & bb).to_numpy().tolist()) == a & b
        assert set((ba | bb).to_numpy().tolist()) == a | b
        assert set((ba - bb).to_numpy().tolist()) == a - b
        assert set((ba ^ bb).to_numpy().tolist()) == a ^ b
        assert ba.and_cardinality(bb) == len(a & b)
        assert ba.or_cardinality(bb) == len(a | b)
        assert ba.andnot_cardinality(bb) == len(a - b)
        assert ba.xor_cardinality(bb) == len(a ^ b)
        assert ba.intersects(bb) == bool(a & b)
        assert len(ba) == len(a)
        c = ba.copy()
        c &= bb
        assert c == ba & bb
        assert cdpcore.Bitmap.or_many([ba, bb, c]) == ba | bb
        assert cdpcore.Bitmap.and_many([ba, bb]) == ba & bb


def test_numpy_in_and_out():
    values = np.array([7, 3, 3, 1 << 20, 0], dtype=np.uint32)
    b = cdpcore.Bitmap(values)
    out = b.to_numpy()
    assert out.dtype == np.uint32
    assert out.tolist() == [0, 3, 7, 1 << 20]
    assert 7 in b and 8 not in b and -1 not in b
    assert b.min == 0 and b.max == 1 << 20
    assert b.rank(7) == 3 and b.select(2) == 7
    assert cdpcore.Bitmap(np.array([1, 2], dtype=np.int64)).to_numpy().tolist() == [1, 2]
    with pytest.raises(ValueError):
        cdpcore.Bitmap(np.array([-1, 2], dtype=np.int64))
    with pytest.raises(ValueError):
        cdpcore.Bitmap([1 << 33])
    assert list(cdpcore.Bitmap.from_range(5, 8)) == [5, 6, 7]
    assert pickle.loads(pickle.dumps(b)) == b


def test_reads_what_pyroaring_wrote():
    b = cdpcore.Bitmap.deserialize(bytes.fromhex(PYROARING_RUNS_HEX))
    assert b.to_numpy().tolist() == PYROARING_RUNS_VALUES
    ours = cdpcore.Bitmap(range(0, 300000, 3)).serialize()
    assert hashlib.sha256(ours).hexdigest() == PYROARING_STRIDE3_SHA256


def test_pyroaring_round_trip_both_ways():
    pyroaring = pytest.importorskip("pyroaring")
    rng = random.Random(9)
    for i in range(10):
        s = mixed_set(rng)
        ours = cdpcore.Bitmap(sorted(s))
        if i % 2:
            ours.optimize()
        theirs = pyroaring.BitMap.deserialize(ours.serialize())
        assert set(theirs) == s
        p = pyroaring.BitMap(s)
        if i % 3 == 0:
            p.run_optimize()
        back = cdpcore.Bitmap.deserialize(p.serialize())
        assert back.to_numpy().tolist() == sorted(s)


def test_malformed_bytes_raise_parse_error_with_offset():
    good = cdpcore.Bitmap([1, 5, 70000]).serialize()
    for bad in (b"", b"\x01\x02\x03", good[:-1], b"\x3a\x30\x00\x00" + b"\xff" * 8):
        with pytest.raises(cdpcore.ParseError) as info:
            cdpcore.Bitmap.deserialize(bad)
        assert info.value.offset >= 0
    assert cdpcore.Bitmap.portable_size(good + b"tail") == len(good)


def test_random_bytes_never_crash(capfd):
    rng = random.Random(1)
    seeds = [cdpcore.Bitmap(sorted(mixed_set(rng))).serialize() for _ in range(4)]
    accepted = 0
    for i in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(min(len(data), 64))] = rng.randrange(256)
        if i % 5 == 0:
            data = data[: rng.randrange(len(data) + 1)]
        try:
            b = cdpcore.Bitmap.deserialize(bytes(data))
            accepted += 1
            assert cdpcore.Bitmap.deserialize(b.serialize()) == b
        except cdpcore.ParseError:
            pass
    out, err = capfd.readouterr()
    assert err == "" and out == ""  # the parser never prints
    assert accepted < 3000
