"""ID numbers and phones: the GB 11643 checksum, format checks, and the masks shown in their place."""

import pytest

from kit.logs import mask_text
from organization.domain.members import id_checksum, is_valid_id_number, is_valid_phone, mask_id_number, mask_phone


def with_checksum(first17: str) -> str:
    return first17 + id_checksum(first17)


def test_the_checksum_of_the_standards_example():
    # GB 11643-1999's worked example: 11010519491231002X
    assert id_checksum("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")  # a lowercase x is the same number


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit
        "11010519491231002",  # 17 characters
        "1101051949123100211",  # 19 characters
        "11010519491331002X",  # month 13
        "1101051949123100A2",  # a letter inside
        "",
    ],
)
def test_invalid_id_numbers_are_refused(value):
    assert not is_valid_id_number(value)


def test_every_check_character_round_trips():
    for serial in range(100, 122):
        assert is_valid_id_number(with_checksum(f"53010219900101{serial}"[:17]))


def test_phones():
    assert is_valid_phone("13812345678")
    assert is_valid_phone("19912345678")
    for bad in ("12812345678", "1381234567", "138123456789", "+8613812345678", "1381234567a"):
        assert not is_valid_phone(bad)


def test_masks_keep_only_the_ends():
    assert mask_id_number("530102199001011234") == "530102********1234"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"


def test_the_log_masker_agrees_with_the_domain_masks():
    number = with_checksum("53010219900101123")
    line = f"registered {number} with phone 13812345678"
    assert mask_text(line) == f"registered {mask_id_number(number)} with phone {mask_phone('13812345678')}"
