import uuid

import pytest

from kit.ids import is_uuid


@pytest.mark.parametrize("value", [str(uuid.uuid4()), uuid.uuid4(), "6F1D8F5E-2C44-4A43-9D0E-0A9A1E0C0D01"])
def test_uuids_are_ids(value):
    assert is_uuid(value)


@pytest.mark.parametrize("value", ["", "42", "../etc/passwd", None, 7, "6f1d8f5e-2c44-4a43-9d0e-0a9a1e0c0d0"])
def test_anything_else_is_not(value):
    assert not is_uuid(value)
