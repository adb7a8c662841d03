"""The wire contract takes back every cursor a list gives out."""

import uuid

from kit.pagination import encode_cursor
from organization.schemas import PageQuery


def test_the_cursor_after_the_longest_name_is_accepted():
    """A node's name is up to 100 characters; after one of CJK characters the cursor was 858 long and the next
    page was refused (422: at most 500)."""
    for name in ("党" * 100, "😀" * 100):
        assert PageQuery().validate({"cursor": encode_cursor([name, str(uuid.uuid4())])}) == {}
