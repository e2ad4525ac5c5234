"""One error family for everything a user can see.

Every failure that is the user's situation rather than our bug (a malformed GGUF, an unknown repo, a full disk)
raises a ``RigfitError`` whose message is written for a person and whose ``hint`` says what to do next.
The CLI prints these without a traceback; the GUI shows them in its one error dialog.
"""

from __future__ import annotations


class RigfitError(Exception):
    """A problem the user can understand and act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class HardwareFileError(RigfitError):
    """A hardware file (or report) could not be read as ``rigfit.hardware/1``."""


class ModelNotFoundError(RigfitError):
    """A model name matched no catalog id, Hub repo or local file."""


class GGUFFormatError(RigfitError):
    """A GGUF header is malformed, truncated before its end, or lies about its lengths."""


class HubError(RigfitError):
    """The Hugging Face Hub (or the configured mirror) refused or could not be reached."""


class RepoNotFoundError(HubError):
    """The repository does not exist, or is private and no valid token was given."""


class GatedRepoError(HubError):
    """The repository is gated: the user must accept its terms on the Hub first."""

    def __init__(self, message: str, *, url: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class OfflineError(HubError):
    """No network (or offline mode): the Hub cannot be asked."""


class DownloadError(RigfitError):
    """A download failed for a reason retries could not cure."""


class DiskFullError(DownloadError):
    """Not enough free space for the files that remain to be written."""


class ChecksumMismatchError(DownloadError):
    """A downloaded file's sha256 differs from the Hub's LFS hash."""


class CancelledError(RigfitError):
    """The user cancelled (or paused) a long operation."""
