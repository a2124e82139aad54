"""Records: per-field last writer wins by HLC stamp, tombstones that stay, a feed pulled by cursor."""

from __future__ import annotations

import time

from library.stamps import stamp

NOW = int(time.time() * 1000)


def push(client, changes, client_id="c1"):
    r = client.post("/v1/library/changes", json={"client_id": client_id, "changes": changes})
    assert r.status_code == 200, r.text
    return r.json()


def pull_all(client, since=None, limit=1000):
    out, cursor = {}, since
    while True:
        r = client.get("/v1/library/changes", params={"limit": limit, **({"since": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        for c in page["data"]:
            out[c["id"]] = c
        cursor = page["cursor"]
        if not page["has_more"]:
            return out, cursor


def new_record(rid, ms=NOW, client="c1", **fields):
    return {"id": rid, "fields": {"name": f"{rid}.png", "rating": 0, "tags": [], **fields}, "stamps": {"$": stamp(ms, 0, client)}}


def test_two_devices_editing_one_record_keep_both_fields_and_converge_on_the_later_write(lib_client):
    push(lib_client, [new_record("r1")])
    # device A rates and captions; device B flags and captions later (by stamp, not by arrival)
    a = {"id": "r1", "fields": {"rating": 4, "caption": "from A"}, "stamps": {"rating": stamp(NOW + 10, 0, "a"), "caption": stamp(NOW + 10, 0, "a")}}
    b = {"id": "r1", "fields": {"flag": "pick", "caption": "from B"}, "stamps": {"flag": stamp(NOW + 20, 0, "b"), "caption": stamp(NOW + 20, 0, "b")}}
    push(lib_client, [b], "b")
    res = push(lib_client, [a], "a")  # arrives last but its caption is older
    assert res == {"object": "library.push", "applied": 1, "unchanged": 0, "deleted": []}
    rec = pull_all(lib_client)[0]["r1"]
    assert rec["fields"]["rating"] == 4
    assert rec["fields"]["flag"] == "pick"
    assert rec["fields"]["caption"] == "from B"
    assert rec["stamps"]["caption"] == stamp(NOW + 20, 0, "b")
    # the same change again changes nothing and takes no new change number
    before = lib_client.get("/v1/library").json()["seq"]
    assert push(lib_client, [a, b])["unchanged"] == 2
    assert lib_client.get("/v1/library").json()["seq"] == before


def test_a_field_removed_by_the_later_write_stays_removed(lib_client):
    push(lib_client, [new_record("r1", caption="old")])
    push(lib_client, [{"id": "r1", "fields": {}, "stamps": {"caption": stamp(NOW + 5)}}])
    assert "caption" not in pull_all(lib_client)[0]["r1"]["fields"]


def test_a_delete_propagates_and_stays_deleted(lib_client):
    push(lib_client, [new_record("r1"), new_record("r2")])
    _, cursor = pull_all(lib_client)
    res = push(lib_client, [{"id": "r1", "deleted": stamp(NOW + 1, 0, "a")}], "a")
    assert res["deleted"] == ["r1"]
    changes, _ = pull_all(lib_client, since=cursor)
    assert list(changes) == ["r1"] and changes["r1"]["deleted"] == stamp(NOW + 1, 0, "a")
    assert changes["r1"]["fields"] == {}
    # a device that never saw the delete edits the record later: it stays deleted, and is told so
    late = {"id": "r1", "fields": {"rating": 5}, "stamps": {"rating": stamp(NOW + 99, 0, "b")}}
    assert push(lib_client, [late], "b") == {"object": "library.push", "applied": 0, "unchanged": 1, "deleted": ["r1"]}
    assert pull_all(lib_client)[0]["r1"]["deleted"]
    assert lib_client.get("/v1/library").json() | {"epoch": "", "seq": 0} == {
        "object": "library", "epoch": "", "seq": 0, "records": 1, "deleted": 1,
        "database": lib_client.app.state.services.library.dialect}


def test_the_feed_pages_by_cursor_and_misses_nothing(lib_client):
    push(lib_client, [new_record(f"r{i:03d}") for i in range(250)])
    seen, cursor = pull_all(lib_client, limit=100)
    assert len(seen) == 250
    # later changes only, from the cursor
    push(lib_client, [{"id": "r007", "fields": {"rating": 2}, "stamps": {"rating": stamp(NOW + 1)}}])
    after, cursor2 = pull_all(lib_client, since=cursor)
    assert list(after) == ["r007"] and after["r007"]["fields"]["rating"] == 2
    assert pull_all(lib_client, since=cursor2)[0] == {}


def test_a_cursor_from_a_reset_database_asks_for_a_full_resync(lib_client):
    push(lib_client, [new_record("r1")])
    _, cursor = pull_all(lib_client)
    other = "0" * 32 + "." + cursor.split(".")[1]
    r = lib_client.get("/v1/library/changes", params={"since": other})
    assert r.status_code == 410
    err = r.json()["error"]
    assert err["code"] == "cursor_reset" and err["param"] == "since" and "full resync" in err["message"]
    # a cursor from the database's own future (restored from a backup): the same remedy
    future = cursor.split(".")[0] + ".999999"
    assert lib_client.get("/v1/library/changes", params={"since": future}).json()["error"]["code"] == "cursor_reset"
    bad = lib_client.get("/v1/library/changes", params={"since": "nonsense"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "since"


def test_bad_pushes_are_4xx_in_the_envelope_naming_the_field(lib_client):
    cases = [
        ({"client_id": "c1", "changes": [], "extra": 1}, "extra"),
        ({"client_id": "c1", "changes": [{"id": "r1", "fields": {}, "stamps": {}, "colour": "red"}]}, "colour"),
        ({"client_id": "c1", "changes": [{"id": "r1", "fields": {"rating": 1}, "stamps": {"rating": "yesterday"}}]}, "rating"),
        ({"client_id": "c 1", "changes": []}, "client_id"),
        ({"client_id": "c1", "changes": [{"id": "../x", "fields": {}}]}, "id"),
        ({"client_id": "c1", "changes": [{"id": "r1", "fields": {"rating": 1}}]}, "stamps"),
        ({"client_id": "c1", "changes": [{"id": "r1", "fields": {"rating": 1}, "stamps": {"rating": stamp(NOW + 3 * 86_400_000)}}]}, "rating"),
        ({"client_id": "c1", "changes": [{"id": "r1", "fields": {"x": "y" * 300_000}, "stamps": {"$": stamp(NOW)}}]}, "fields"),
        ({"client_id": "c1", "changes": [new_record(f"r{i}") for i in range(1001)]}, "changes"),
    ]
    for body, param in cases:
        r = lib_client.post("/v1/library/changes", json=body)
        assert r.status_code == 400, (body, r.text)
        err = r.json()["error"]
        assert param in (err["param"] or ""), (param, err)
    assert lib_client.get("/v1/library").json()["records"] == 0


def test_everything_wants_the_api_key(lib_client):
    for method, path in [("GET", "/v1/library"), ("GET", "/v1/library/changes"), ("POST", "/v1/library/changes"),
                         ("HEAD", "/v1/library/blobs/" + "a" * 64), ("PUT", "/v1/library/blobs/" + "a" * 64)]:
        r = lib_client.request(method, path, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401, (method, path)
