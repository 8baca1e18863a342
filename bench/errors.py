"""Errors a user can fix; the CLI turns each into one line on stderr and exit code 2."""


class CdbenchError(Exception):
    """Bad input or a missing resource, with a message that names the fix."""


class UnknownNameError(CdbenchError):
    """An unknown task, method, model or ground-truth version."""


class GroundTruthError(CdbenchError):
    """A ground-truth file that is malformed or does not fit the model."""


class ModelMissingError(CdbenchError):
    """Model weights or tokenizer files that are not present offline."""


class ScoreError(CdbenchError):
    """A method returned scores of the wrong shape or with NaN/inf."""


class EmptyPromptsError(CdbenchError):
    """A task produced no prompts."""


class MethodInputError(CdbenchError):
    """A method setting the model or task cannot serve (MLP nodes on an attention-only model)."""
