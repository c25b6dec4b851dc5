"""The desktop sidecar: Prism behind the existing shell's stdin/stdout protocol (docs/sidecar.md).

This package owns the protocol framing (:mod:`.protocol`: readiness line, request
parsing with the 10 MB limit, answers, progress events), the loop (:mod:`.server`),
the parent-death watch (:mod:`.parent`), the command registry (:mod:`.registry`) and its
handlers (:mod:`.views`, :mod:`.overlap`, :mod:`.pipeline`, :mod:`.uploads`, :mod:`.health`) over Prism's services
(:mod:`.services`, :mod:`.book`), the translation into the shapes the shell's frontend
reads (:mod:`.shapes`), and ``prism serve --ready-json`` for shells that speak HTTP
(:mod:`.ready`). Nothing is imported here, so the readiness line is written before the
handlers' imports are paid for.
"""

__all__: list[str] = []
