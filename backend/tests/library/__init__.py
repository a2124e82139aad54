# A package, so its conftest is imported as `library.conftest` and does not take the name
# `conftest` that other test modules import helpers from (tests/conftest.py).
