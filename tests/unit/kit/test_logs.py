from kit.logs import mask_personal_data, mask_text


def test_id_numbers_and_phones_are_masked():
    assert mask_text("id 53010219900101123X phone 13812345678") == "id 530102********123X phone 138****5678"


def test_other_numbers_are_left_alone():
    text = "order 12345, uuid 7a4f0d1e-0000-4000-8000-000000000001, 2026-11-28T04:00:00Z"
    assert mask_text(text) == text


def test_the_log_processor_masks_nested_values():
    event = mask_personal_data(None, "info", {"event": "x", "member": {"phone": "13912345678"}, "n": 3})
    assert event == {"event": "x", "member": {"phone": "139****5678"}, "n": 3}
