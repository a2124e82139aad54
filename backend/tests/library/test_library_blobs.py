"""Blobs: stored once by SHA-256, resumable in pieces, verified, limited, never half visible."""

from __future__ import annotations

import hashlib
import os

import pytest


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(client, data: bytes, *, digest=None, ctype="application/octet-stream", headers=None):
    return client.put(f"/v1/library/blobs/{digest or sha(data)}", content=data,
                      headers={"Content-Type": ctype, **(headers or {})})


def stored_files(data_dir):
    return sorted(p.name for p in (data_dir / "library" / "blobs").rglob("*") if p.is_file())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_blob_is_stored_once_and_read_back(lib_client, data_dir):
    data = os.urandom(300_000)
    h = sha(data)
    assert lib_client.head(f"/v1/library/blobs/{h}").status_code == 404
    r = put(lib_client, data, ctype="image/png")
    assert r.status_code == 201 and r.json() == {"object": "library.blob", "sha256": h, "size": len(data), "complete": True, "offset": len(data)}
    head = lib_client.head(f"/v1/library/blobs/{h}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    # idempotent: the same PUT again is answered without storing anything new
    again = put(lib_client, data)
    assert again.status_code == 200 and again.json()["complete"]
    assert stored_files(data_dir) == [h]
    got = lib_client.get(f"/v1/library/blobs/{h}")
    assert got.status_code == 200 and got.content == data and "immutable" in got.headers["cache-control"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_large_original_resumes_where_its_upload_stopped(lib_client, data_dir):
    data = os.urandom(1_000_000)
    h = sha(data)
    url = f"/v1/library/blobs/{h}"
    hdr = {"Content-Type": "image/jpeg"}
    r = lib_client.put(url, content=data[:400_000], headers={**hdr, "Content-Range": f"bytes 0-399999/{len(data)}"})
    assert r.status_code == 202 and r.json()["offset"] == 400_000
    # not visible while incomplete; HEAD says where to resume
    head = lib_client.head(url)
    assert head.status_code == 404 and head.headers["upload-offset"] == "400000"
    assert lib_client.get(url).status_code == 404
    # a piece from the wrong place: 409 naming the offset to resume from
    wrong = lib_client.put(url, content=data[500_000:], headers={**hdr, "Content-Range": f"bytes 500000-999999/{len(data)}"})
    assert wrong.status_code == 409 and wrong.headers["upload-offset"] == "400000"
    assert wrong.json()["error"]["code"] == "upload_offset_mismatch"
    done = lib_client.put(url, content=data[400_000:], headers={**hdr, "Content-Range": f"bytes 400000-999999/{len(data)}"})
    assert done.status_code == 201 and done.json()["complete"]
    assert lib_client.get(url).content == data
    assert list((data_dir / "library" / "uploads").iterdir()) == []


def _pieces(client, url, data, cuts, ctype="image/jpeg"):
    """PUTs data in pieces at `cuts` (byte offsets); returns the last response."""
    edges = [0, *cuts, len(data)]
    for a, b in zip(edges, edges[1:]):
        r = client.put(url, content=data[a:b], headers={"Content-Type": ctype, "Content-Range": f"bytes {a}-{b - 1}/{len(data)}"})
    return r


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_upload_in_pieces_is_hashed_as_it_arrives_not_read_back(lib_client, data_dir, monkeypatch):
    import atelier.library.blobs as blobs_mod

    reads = []
    real_open = open

    def counting_open(path, mode="r", *a, **kw):
        if mode == "rb":
            reads.append(str(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(blobs_mod, "open", counting_open, raising=False)
    data = os.urandom(1_500_000)
    h = sha(data)
    done = _pieces(lib_client, f"/v1/library/blobs/{h}", data, [500_000, 1_000_000])
    assert done.status_code == 201 and done.json()["complete"]
    assert lib_client.get(f"/v1/library/blobs/{h}").content == data
    assert reads == []  # verified from the running hash of the three pieces

    # a wrong middle piece is still caught by the running hash: 400, nothing kept
    bad = bytearray(os.urandom(1_500_000))
    h_bad = sha(bytes(bad))
    bad[700_000] ^= 0xFF
    r = _pieces(lib_client, f"/v1/library/blobs/{h_bad}", bytes(bad), [500_000, 1_000_000])
    assert r.status_code == 400 and r.json()["error"]["code"] == "hash_mismatch"
    assert lib_client.head(f"/v1/library/blobs/{h_bad}").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_upload_resumed_after_a_restart_is_read_back_once_and_verified(lib_client, data_dir, monkeypatch):
    import atelier.library.blobs as blobs_mod

    data = os.urandom(1_000_000)
    h = sha(data)
    url = f"/v1/library/blobs/{h}"
    r = lib_client.put(url, content=data[:600_000], headers={"Content-Type": "image/jpeg", "Content-Range": f"bytes 0-599999/{len(data)}"})
    assert r.status_code == 202
    # a restart forgets the running hash: the last piece's request reads the file back to verify it
    lib_client.app.state.services.library.blobs._hashes.clear()
    reads = []
    real_open = open
    monkeypatch.setattr(blobs_mod, "open", lambda p, mode="r", *a, **kw: (reads.append(mode), real_open(p, mode, *a, **kw))[1], raising=False)
    done = lib_client.put(url, content=data[600_000:], headers={"Content-Type": "image/jpeg", "Content-Range": f"bytes 600000-999999/{len(data)}"})
    assert done.status_code == 201 and lib_client.get(url).content == data
    assert reads.count("rb") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wrong_hash_oversize_and_wrong_type_are_refused_and_nothing_is_kept(lib_client, data_dir):
    data = os.urandom(10_000)
    r = put(lib_client, data, digest="0" * 64)
    assert r.status_code == 400 and r.json()["error"]["code"] == "hash_mismatch" and r.json()["error"]["param"] == "sha256"
    # in pieces too: the last piece finds the mismatch and drops the whole upload
    h = "1" * 64
    lib_client.put(f"/v1/library/blobs/{h}", content=data[:5000], headers={"Content-Type": "image/png", "Content-Range": "bytes 0-4999/10000"})
    last = lib_client.put(f"/v1/library/blobs/{h}", content=data[5000:], headers={"Content-Type": "image/png", "Content-Range": "bytes 5000-9999/10000"})
    assert last.status_code == 400 and last.json()["error"]["code"] == "hash_mismatch"
    assert lib_client.head(f"/v1/library/blobs/{h}").headers["upload-offset"] == "0"
    # the library's own limit (4 MB in these tests), announced or streamed
    big = os.urandom(5 * 1024 * 1024)
    assert put(lib_client, big).status_code == 413
    r = lib_client.put(f"/v1/library/blobs/{sha(big)}", content=b"x", headers={"Content-Type": "image/png", "Content-Range": f"bytes 0-0/{len(big)}"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    for ctype in ("text/plain", "application/json", "image/svg+xml"):
        r = put(lib_client, data, ctype=ctype)
        assert r.status_code == 415, (ctype, r.text)
        assert r.json()["error"]["param"] == "Content-Type"
    for bad in ("../../etc/passwd", "ABC", "g" * 64):
        assert 400 <= lib_client.head(f"/v1/library/blobs/{bad}").status_code < 500
        r = lib_client.put(f"/v1/library/blobs/{bad}", content=data, headers={"Content-Type": "image/png"})
        assert 400 <= r.status_code < 500 and "error" in r.json()
    bad_range = lib_client.put(f"/v1/library/blobs/{sha(data)}", content=data, headers={"Content-Type": "image/png", "Content-Range": "bytes 5-1/10"})
    assert bad_range.status_code == 400 and bad_range.json()["error"]["param"] == "Content-Range"
    assert stored_files(data_dir) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_small_blobs_come_in_one_batch_framed_by_hash_and_size(lib_client):
    blobs = [os.urandom(n) for n in (10, 0, 3000)]
    for b in blobs:
        assert put(lib_client, b).status_code in (200, 201)
    missing = "f" * 64
    r = lib_client.post("/v1/library/blobs/batch", json={"sha256": [sha(b) for b in blobs] + [missing]})
    assert r.status_code == 200
    body, got = r.content, {}
    while body:
        head, _, body = body.partition(b"\n")
        h, size = head.decode().split(" ")
        got[h] = None if int(size) < 0 else body[: int(size)]
        body = body[max(0, int(size)):]
    assert got == {**{sha(b): b for b in blobs}, missing: None}
    too_many = lib_client.post("/v1/library/blobs/batch", json={"sha256": ["a" * 64] * 201})
    assert too_many.status_code == 400 and too_many.json()["error"]["param"].startswith("sha256")
    assert lib_client.post("/v1/library/blobs/batch", json={"sha256": ["nope"]}).status_code == 400


def frames(*blobs: tuple[str, bytes]) -> bytes:
    return b"".join(f"{h} {len(b)}\n".encode() + b for h, b in blobs)


def upload_batch(client, body: bytes, ctype="application/octet-stream"):
    return client.post("/v1/library/blobs/upload", content=body, headers={"Content-Type": ctype})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_of_thumbnails_is_stored_in_one_request_once_each(lib_client, data_dir):
    thumbs = [os.urandom(20_000 + i) for i in range(3)]
    assert put(lib_client, thumbs[0]).status_code == 201  # one the library already has
    r = upload_batch(lib_client, frames(*((sha(t), t) for t in thumbs)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["new"] == 2
    assert [(d["sha256"], d["size"], d["complete"]) for d in body["data"]] == [(sha(t), len(t), True) for t in thumbs]
    for t in thumbs:
        assert lib_client.get(f"/v1/library/blobs/{sha(t)}").content == t
    # idempotent
    again = upload_batch(lib_client, frames(*((sha(t), t) for t in thumbs)))
    assert again.status_code == 200 and again.json()["new"] == 0
    assert stored_files(data_dir) == sorted(sha(t) for t in thumbs)
    assert list((data_dir / "library" / "uploads").iterdir()) == []
    # what the browser asks for next comes back in the batch download's framing
    got = lib_client.post("/v1/library/blobs/batch", json={"sha256": [sha(t) for t in thumbs]})
    assert got.content == frames(*((sha(t), t) for t in thumbs))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_with_one_wrong_hash_keeps_nothing(lib_client, data_dir):
    good, bad = os.urandom(1000), os.urandom(1000)
    r = upload_batch(lib_client, frames((sha(good), good), (sha(good), bad)))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "hash_mismatch" and err["param"] == "body" and "nothing" in err["message"]
    assert stored_files(data_dir) == []
    assert list((data_dir / "library" / "uploads").iterdir()) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_batch_is_refused_in_the_envelope_naming_the_body(lib_client, data_dir):
    t = os.urandom(100)
    cases = [
        (b"not a frame", 400, "invalid_parameter"),
        (f"{sha(t)} 100\n".encode() + t[:40], 400, "invalid_parameter"),  # the body ends inside a blob
        (f"{'x' * 64} 100\n".encode() + t, 400, "invalid_parameter"),  # not a SHA-256
        (f"{sha(t)} {2 << 20}\n".encode(), 413, None),  # larger than a batch takes
        (b"", 400, "invalid_parameter"),
        (frames(*[(sha(t), t)] * 201), 413, None),
    ]
    for body, status, code in cases:
        r = upload_batch(lib_client, body)
        assert r.status_code == status, (body[:80], r.text)
        err = r.json()["error"]
        assert err["param"] in ("body", "sha256"), err
        if code:
            assert err["code"] == code, err
    wrong_type = upload_batch(lib_client, frames((sha(t), t)), ctype="application/json")
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["param"] == "Content-Type"
    assert stored_files(data_dir) == []
