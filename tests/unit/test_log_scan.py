"""The end-to-end suite's final scan of its processes' logs finds unmasked ID numbers and phones, and only them."""

from tests.e2e.conftest import unmasked_personal_data


def test_the_scan_finds_unmasked_values_and_passes_masked_ones(tmp_path):
    (tmp_path / "organization.log").write_text(
        '{"event": "rpc handled", "correlation_id": "13912345678abcdef", "duration_ms": 1795869446.3}\n'
        '{"id_number": "530102********1234", "phone": "138****5678"}\n'
        '{"event": "oops", "detail": "id 53011119800101123X phone 19900012345"}\n'
    )
    (tmp_path / "gateway.log").write_text("nothing here 2026-11-28T12:36:38.348153Z\n")
    assert unmasked_personal_data(tmp_path) == [
        "organization.log:3: 53011119800101123X",
        "organization.log:3: 19900012345",
    ]
