"""The demo tree every service's demo data shares: stable ids from paths and keys, the streets and departments."""

import uuid

from kit.demo_tree import DEMO_NAMESPACE, demo_uid, departments, load_tree, node_id, point, square, streets


def test_ids_are_uuid5_of_the_path_or_the_kind_and_key_so_every_service_derives_the_same():
    assert node_id("/gd/wujing/c01/") == str(uuid.uuid5(DEMO_NAMESPACE, "/gd/wujing/c01/"))
    assert node_id("/gd/") == node_id("/gd/") != node_id("/departments/")
    # The namespace is fixed: changing it would re-key every demo record that other services refer to.
    assert node_id("/gd/") == "20df856b-66f8-5db0-9979-4dc7d675cab5"
    assert demo_uid("member", 7) == str(uuid.uuid5(DEMO_NAMESPACE, "member:7"))


def test_the_streets_and_their_communities_with_the_loaders_codes():
    found = streets()
    assert [s.code for s in found] == [s["code"] for s in load_tree()["streets"]]
    assert len(found) == 8 and sum(len(s.communities) for s in found) == 68
    wujing = next(s for s in found if s.code == "wujing")
    assert (wujing.path, wujing.short) == ("/gd/wujing/", "吴井")
    assert wujing.communities[0].path == "/gd/wujing/c01/" and wujing.communities[0].name == "吴井"
    assert wujing.communities[0].areas == ("/gd/wujing/c01/a1/", "/gd/wujing/c01/a2/")


def test_thirteen_departments_each_with_its_desk():
    found = departments()
    codes = [d.code for d in found]
    assert len(set(codes)) == len(codes) == 13
    assert {"water", "police", "fire", "power", "gas"} <= set(codes)
    gas = next(d for d in found if d.code == "gas")
    assert (gas.name, gas.org_path, gas.desk) == ("燃气公司", "/departments/gas/", "gas.desk")
    assert gas.id == node_id("/departments/gas/")


def test_geometry_is_deterministic_and_valid_geojson():
    assert point([102.7, 25.0], 0) == {"type": "Point", "coordinates": [102.712, 25.0]}
    assert point([102.7, 25.0], 7) != point([102.7, 25.0], 1)  # the next ring lies further out
    ring = square([102.7, 25.0])["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
