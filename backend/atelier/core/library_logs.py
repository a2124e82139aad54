"""What the ML libraries print, made fit for a server log: one clear line or nothing.

- bitsandbytes, on CPUs with AVX512-BF16, tries to fetch a faster 4-bit CPU kernel from the Hugging
  Face hub through the optional `kernels` package, and warns at import that it could not. Atelier
  never runs code fetched at run time, so that warning is replaced by one line saying what happens
  instead (the built-in kernels run, and CPU NF4 works; see engine/quant.py).
- diffusers and transformers draw tqdm bars ("Loading pipeline components...", "Loading checkpoint
  shards") into the log while loading; the manager logs each load in one line with its time instead.
"""

from __future__ import annotations

import logging

log = logging.getLogger("atelier")

_BNB_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"


class _HubKernelNotice(logging.Filter):
    """Swallows bitsandbytes' "Failed to load CPU gemm_4bit_forward from kernels-community" warning."""

    said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "kernels-community" not in record.getMessage():
            return True
        if not _HubKernelNotice.said:
            _HubKernelNotice.said = True
            log.info("4-bit (NF4) on the CPU uses bitsandbytes' built-in kernels; its optional AVX512-BF16 kernel "
                     "is downloaded from the Hugging Face hub at run time, which Atelier never does")
        return False


def quiet_import_warnings() -> None:
    """Before bitsandbytes is imported (create_app)."""
    target = logging.getLogger(_BNB_CPU_LOGGER)
    if not any(isinstance(f, _HubKernelNotice) for f in target.filters):
        target.addFilter(_HubKernelNotice())


def quiet_progress_bars() -> None:
    """Before a model loads (the libraries are imported by then, so this costs nothing)."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
