"""The C ABI's versioned structs, through ctypes: one version check and one
message format for every struct, and cdp_x_options_init(opts, version)
writes no more than the caller's version of the struct has (a caller built
against an older header has a smaller struct).

Needs the shared library: CDPCORE_SHARED_LIBRARY names it (scripts/test sets
it to the one it built), else a development build's <build>/libcdpcore.so next
to <build>/python; the pip-installed package does not ship it."""
import ctypes
import os
from pathlib import Path

import pytest

import cdpcore

LIB = Path(os.environ.get("CDPCORE_SHARED_LIBRARY") or Path(cdpcore.__file__).resolve().parents[2] / "libcdpcore.so")
# Named explicitly, the library must be there: the test run that sets the
# variable means to run these tests.
if os.environ.get("CDPCORE_SHARED_LIBRARY") and not LIB.exists():
    raise FileNotFoundError(f"CDPCORE_SHARED_LIBRARY={LIB} does not exist")
pytestmark = pytest.mark.skipif(not LIB.exists(), reason="no development build of libcdpcore.so next to the package")


class ExportOptions(ctypes.Structure):
    """cdp_segment_export_options, version 2."""
    _fields_ = [
        ("version", ctypes.c_uint),
        ("identifier_types", ctypes.c_void_p),
        ("identifier_type_count", ctypes.c_size_t),
        ("allowed", ctypes.c_void_p),
        ("batch_size", ctypes.c_size_t),
        ("allow_identifier", ctypes.c_void_p),  # version 2
        ("allow_identifier_user_data", ctypes.c_void_p),
    ]


@pytest.fixture(scope="module")
def lib():
    lib = ctypes.CDLL(str(LIB))
    lib.cdp_last_error.restype = ctypes.c_char_p
    return lib


def _filled(size):
    buf = (ctypes.c_ubyte * size)()
    ctypes.memset(buf, 0xAB, size)
    return buf


def test_init_of_an_older_version_writes_only_that_version(lib):
    v1_size = ExportOptions.allow_identifier.offset
    buf = _filled(ctypes.sizeof(ExportOptions))
    assert lib.cdp_segment_export_options_init(buf, 1) == 0
    opts = ExportOptions.from_buffer(buf)
    assert opts.version == 1 and opts.batch_size == 10000
    assert bytes(buf)[v1_size:] == b"\xab" * (ctypes.sizeof(ExportOptions) - v1_size)


def test_init_of_the_latest_version_writes_its_defaults(lib):
    buf = _filled(ctypes.sizeof(ExportOptions))
    assert lib.cdp_segment_export_options_init(buf, 2) == 0
    opts = ExportOptions.from_buffer(buf)
    assert (opts.version, opts.batch_size, opts.allow_identifier, opts.allow_identifier_user_data) == (2, 10000, None,
                                                                                                        None)


@pytest.mark.parametrize("fn,name,latest", [
    ("cdp_segment_export_options_init", "cdp_segment_export_options", 2),
    ("cdp_workspace_options_init", "cdp_workspace_options", 1),
    ("cdp_identity_type_options_init", "cdp_identity_type_options", 1),
    ("cdp_write_options_init", "cdp_write_options", 1),
    ("cdp_consent_import_options_init", "cdp_consent_import_options", 1),
    ("cdp_consent_check_options_init", "cdp_consent_check_options", 1),
    ("cdp_rules_eval_options_init", "cdp_rules_eval_options", 1),
    ("cdp_identity_dot_options_init", "cdp_identity_dot_options", 1),
])
def test_an_unknown_init_version_is_refused_with_one_message(lib, fn, name, latest):
    buf = _filled(512)
    for bad in (0, latest + 1):
        assert getattr(lib, fn)(buf, bad) == -2  # CDP_EINVAL
        assert lib.cdp_last_error().decode() == f"{name} version {bad} is not supported (1..{latest})"
    assert bytes(buf) == b"\xab" * 512


def test_an_unknown_struct_version_is_refused_naming_its_init_macro(lib):
    opts = ExportOptions()
    assert lib.cdp_segment_export_options_init(ctypes.byref(opts), 2) == 0
    opts.version = 3
    engine = ctypes.c_void_p()
    bitmap = ctypes.c_void_p()
    assert lib.cdp_segment_engine_new(ctypes.byref(engine), None) == 0
    assert lib.cdp_bitmap_from_range(ctypes.byref(bitmap), ctypes.c_uint32(0), ctypes.c_uint32(3)) == 0
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_void_p, ctypes.c_void_p)(lambda *a: 0)
    try:
        assert lib.cdp_segment_export(engine, bitmap, ctypes.byref(opts), callback, None, None) == -2
        assert lib.cdp_last_error().decode() == (
            "cdp_segment_export_options.version 3 is not supported; initialise with CDP_SEGMENT_EXPORT_OPTIONS_INIT")
    finally:
        lib.cdp_bitmap_free(bitmap)
        lib.cdp_segment_engine_free(engine)


class ConsentRecord(ctypes.Structure):
    """cdp_consent_record, version 1."""
    _fields_ = [("version", ctypes.c_uint)] + [
        (n, t) for name in ("subject_type", "subject_value", "purpose", "channel")
        for n, t in ((name, ctypes.c_char_p), (name + "_len", ctypes.c_size_t))] + [
        ("decision", ctypes.c_int32), ("time_us", ctypes.c_int64), ("expiry_us", ctypes.c_int64),
        ("source", ctypes.c_char_p), ("source_len", ctypes.c_size_t), ("legal_basis", ctypes.c_int32)] + [
        (n, t) for name in ("policy_version", "proof_method", "proof_location", "proof_reference")
        for n, t in ((name, ctypes.c_char_p), (name + "_len", ctypes.c_size_t))]


Z = ctypes.c_size_t  # size_t arguments (a bare int would go as a 32-bit int)
PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)


class ImportOptions(ctypes.Structure):
    """cdp_consent_import_options, version 1."""
    _fields_ = [("version", ctypes.c_uint), ("skip_suppressed", ctypes.c_int),
                ("skip_invalid_subjects", ctypes.c_int), ("progress", PROGRESS),
                ("progress_user_data", ctypes.c_void_p)]


def _records(n):
    recs = (ConsentRecord * n)()
    for i, r in enumerate(recs):
        value = f"+86138001380{i:02d}".encode()
        r.version = 1
        r.subject_type, r.subject_type_len = b"phone", 5  # struct fields: ctypes converts to size_t
        r.subject_value, r.subject_value_len = value, len(value)
        r.purpose, r.purpose_len = b"marketing.sms", 13
        r.channel, r.channel_len = b"sms", 3
        r.decision, r.time_us, r.expiry_us = 1, 1_000_000, 0x7FFFFFFFFFFFFFFF  # CDP_NO_EXPIRY
        r.source, r.source_len = b"form", 4
        r.legal_basis = 1
    return recs


def test_consent_import_v2_takes_the_import_options(lib):
    opts = ImportOptions()
    assert lib.cdp_consent_import_options_init(ctypes.byref(opts), 1) == 0
    assert (opts.skip_suppressed, opts.skip_invalid_subjects) == (1, 0)
    ws, c = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.cdp_workspace_open(ctypes.byref(ws), b":memory:", Z(8), None) == 0
    assert lib.cdp_consent_new(ctypes.byref(c), ws, None) == 0, lib.cdp_last_error()
    lib.cdp_consent_size.restype = ctypes.c_uint64
    seen = []

    def cancel(user, done, total):
        seen.append((done, total))
        return 1  # non-zero: stop

    opts.progress = PROGRESS(cancel)
    recs = _records(3)
    appended, suppressed, invalid = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint64()
    try:
        rc = lib.cdp_consent_import_v2(c, recs, ctypes.c_size_t(3), ctypes.c_int64(2_000_000), ctypes.byref(opts),
                                       ctypes.byref(appended), ctypes.byref(suppressed), ctypes.byref(invalid))
        assert rc == -14 and seen, lib.cdp_last_error()  # CDP_ECANCELLED: the callback was asked and said stop
        assert lib.cdp_consent_size(c) == 0
        opts.progress = PROGRESS(0)
        assert lib.cdp_consent_import_v2(c, recs, ctypes.c_size_t(3), ctypes.c_int64(2_000_000), ctypes.byref(opts),
                                         ctypes.byref(appended), ctypes.byref(suppressed), ctypes.byref(invalid)) == 0
        assert (appended.value, suppressed.value, invalid.value) == (3, 0, 0)
        assert lib.cdp_consent_size(c) == 3
    finally:
        lib.cdp_consent_free(c)
        lib.cdp_workspace_close(ws)


class CheckOptions(ctypes.Structure):
    """cdp_consent_check_options, version 1."""
    _fields_ = [("version", ctypes.c_uint), ("jurisdiction", ctypes.c_int32), ("contact_rules", ctypes.c_int),
                ("topic", ctypes.c_char_p), ("topic_len", ctypes.c_size_t), ("threads", ctypes.c_uint)]


def test_consent_check_v2_takes_a_topic(lib):
    opts = CheckOptions()
    assert lib.cdp_consent_check_options_init(ctypes.byref(opts), 1) == 0
    assert (opts.jurisdiction, opts.contact_rules, opts.topic, opts.threads) == (0, 1, None, 0)
    ws, c = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.cdp_workspace_open(ctypes.byref(ws), b":memory:", Z(8), None) == 0
    assert lib.cdp_consent_new(ctypes.byref(c), ws, None) == 0
    value = b"+8613800138000"
    prefs = b'{"topics": ["sale"]}'
    allowed, reason, record = ctypes.c_int(), ctypes.c_int32(), ctypes.c_uint64()

    def check(topic):
        opts.topic, opts.topic_len = topic, len(topic)
        assert lib.cdp_consent_check_v2(c, b"phone", Z(5), value, Z(len(value)), b"marketing.sms", Z(13), b"sms",
                                        Z(3), ctypes.c_int64(3_000_000), ctypes.byref(opts), ctypes.byref(allowed),
                                        ctypes.byref(reason), ctypes.byref(record)) == 0, lib.cdp_last_error()
        return allowed.value, lib.cdp_consent_reason_name(reason.value).decode()

    try:
        assert lib.cdp_consent_import_v2(c, _records(1), ctypes.c_size_t(1), ctypes.c_int64(2_000_000), None,
                                         None, None, None) == 0
        assert lib.cdp_consent_set_preferences_json(c, b"phone", Z(5), value, Z(len(value)), prefs, Z(len(prefs)),
                                                    ctypes.c_int64(2_500_000)) == 0, lib.cdp_last_error()
        lib.cdp_consent_reason_name.restype = ctypes.c_char_p
        assert check(b"sale") == (1, "granted")
        assert check(b"news") == (0, "topic_not_subscribed")
        # The first check has no topic: the same subject may be contacted.
        assert lib.cdp_consent_check(c, b"phone", Z(5), value, Z(len(value)), b"marketing.sms", Z(13), b"sms", Z(3),
                                     ctypes.c_int64(3_000_000), ctypes.c_int32(0), ctypes.c_uint32(1),
                                     ctypes.byref(allowed), None, None) == 0
        assert allowed.value == 1
    finally:
        lib.cdp_consent_free(c)
        lib.cdp_workspace_close(ws)


def test_the_new_options_structs_start_from_the_cpp_defaults(lib):
    dot = (ctypes.c_uint * 3)()
    assert lib.cdp_identity_dot_options_init(dot, 1) == 0
    assert list(dot) == [1, 1, 1]  # version, mask_values, show_conflicts (DotOptions' defaults)

    class EvalOptions(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint), ("threads", ctypes.c_uint), ("progress", PROGRESS),
                    ("progress_user_data", ctypes.c_void_p)]

    ev = EvalOptions()
    assert lib.cdp_rules_eval_options_init(ctypes.byref(ev), 1) == 0
    assert (ev.version, ev.threads, ev.progress_user_data) == (1, 2, None)  # EvalOptions::threads = 2
