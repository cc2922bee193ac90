"""Typed errors. Exactly one place (`cli.main`) maps them to exit codes.

A `DocumentError` is about one input file: the batch records it as that document's `failed`
status and message and goes on. A `UsageError` is about the command line or configuration.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error perfscan raises on purpose."""

    exit_code = 2


class UsageError(PipelineError):
    """Bad arguments or configuration: nothing was processed."""

    exit_code = 1


class OutputFolderError(PipelineError):
    """The output folder stopped taking writes in the middle of a run (its disk is full, it became
    read-only): the batch stops after its summary. What was committed stays; the documents it could
    not write are not done, so the next run does them: they count as failed for this one."""

    exit_code = 2


class DocumentError(PipelineError):
    """One input cannot be processed; the message names the reason (the file is named by the caller)."""

    exit_code = 2


class UnreadableInput(DocumentError):
    """Not a PDF/image we can open: empty, truncated, encrypted, wrong type."""


class InputTooLarge(DocumentError):
    """A page whose pixel count exceeds the configured ceiling (decompression-bomb guard)."""


class ModelIntegrityError(PipelineError):
    """An OCR weight file listed in models/manifest is missing or altered."""

    exit_code = 1


class ExternalToolError(DocumentError):
    """An external program failed; carries the tail of its stderr."""
