"""HLC stamps as the browser writes them (lib/db/hlc.ts): fixed width, so later = greater."""


def stamp(ms: int, counter: int = 0, client: str = "c1") -> str:
    return f"{ms:015d}-{counter:06d}-{client}"
