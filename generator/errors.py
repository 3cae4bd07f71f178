"""The one root error of tfgen.

Library code raises these; only the CLI edge prints them. Being a ClickException, an
uncaught TfgenError prints `Error: ...` and exits 1 (bad configuration or failed render).
"""

import click


class TfgenError(click.ClickException):
    """Anything tfgen refuses to do: bad configuration, unsafe render, missing tool."""


class ConfigError(TfgenError):
    """Bad configuration, located in a file: `FILE:LINE: FIELD.PATH: what is wrong`."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file, self.line, self.field, self.problem = file, line, field, message
        where = f"{file}:{line}" if line else file
        parts = [where, field, message] if field else [where, message]
        super().__init__(": ".join(parts))


class ConfigErrors(ConfigError):
    """Several located configuration errors at once, one a line."""

    SHOWN = 20

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        first = errors[0]
        self.file, self.line, self.field, self.problem = first.file, first.line, first.field, first.problem
        lines = [f"  {e.message}" for e in errors[: self.SHOWN]]
        if len(errors) > self.SHOWN:
            lines.append(f"  ... and {len(errors) - self.SHOWN} more")
        click.ClickException.__init__(self, f"{len(errors)} errors in the configuration:\n" + "\n".join(lines))


def aws_error(exc: Exception) -> str:
    """An exception as a line of a report: AWS's error code and message where AWS answered
    (botocore's ClientError), else its type and text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return f"{type(exc).__name__}: {exc}"
