import os

import pytest

import cdpcore


def test_open_memory_workspace_has_workspace_schema():
    ws = cdpcore.Workspace.open(":memory:")
    assert ws.path == ":memory:"
    assert ws.schema_version("workspace") == 1
    assert ws.schema_version("identity") == 0
    assert ws.time_zone == "UTC"


def test_file_workspace_keeps_time_zone_and_settings(tmp_path):
    path = str(tmp_path / "crm.cdp")
    ws = cdpcore.Workspace.open(path, time_zone="Asia/Shanghai")
    ws.set_setting("owner", "crm")
    del ws
    again = cdpcore.Workspace.open(path, read_only=True)
    assert again.time_zone == "Asia/Shanghai"
    assert again.setting("owner") == "crm"
    assert again.setting("missing") is None
    assert again.read_only


def test_not_a_database_raises_corrupt_error_and_leaves_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"phone,email\n13800138000,a@b.c\n")
    with pytest.raises(cdpcore.CorruptError, match="not a SQLite database") as info:
        cdpcore.Workspace.open(str(path))
    assert info.value.code == -7
    assert isinstance(info.value, cdpcore.Error)
    assert path.read_bytes() == b"phone,email\n13800138000,a@b.c\n"


def test_missing_file_without_create_is_not_found(tmp_path):
    with pytest.raises(cdpcore.NotFound):
        cdpcore.Workspace.open(str(tmp_path / "absent.cdp"), create=False)
    assert not os.path.exists(tmp_path / "absent.cdp")
    # NotFound is also a LookupError, so ordinary Python handling works.
    with pytest.raises(LookupError):
        cdpcore.Workspace.open(str(tmp_path / "absent.cdp"), create=False)


def test_unknown_time_zone_is_not_found():
    ws = cdpcore.Workspace.open(":memory:")
    with pytest.raises(cdpcore.NotFound, match="Nowhere/Land"):
        ws.set_time_zone("Nowhere/Land")
    assert ws.time_zone == "UTC"


def test_parse_error_carries_offset():
    with pytest.raises(cdpcore.ParseError) as info:
        cdpcore.parse_time("2024-13-01")
    assert info.value.offset == 5
    assert isinstance(info.value, ValueError)
    assert cdpcore.format_time(cdpcore.parse_time("2024-03-01T08:00:00+08:00")) == "2024-03-01T00:00:00Z"


def test_version_matches_the_package():
    major, minor, patch = (int(x) for x in cdpcore.__version__.split("."))
    assert cdpcore.version_number == major * 1_000_000 + minor * 1000 + patch
