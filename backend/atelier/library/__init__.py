"""The library on the server: the copy of every browser's library that sync meets at (issue 18).

- `blobs.py`: originals and thumbnails as content-addressed files (SHA-256), written atomically.
- `models.py` + `migrations/`: the metadata database (SQLite by default, PostgreSQL by URL),
  schema versioned by Alembic.
- `service.py`: pushes merged per field by hybrid-logical-clock stamps (last writer wins),
  tombstones, and the change feed pulled by cursor. No FastAPI in here.
- `router.py`: `/v1/library`, HTTP only.
"""
