"""The one root error of tfgen.

Library code raises these, as plain exceptions: nothing below the command line knows how
they are shown. generator/cli/, the only place that does, prints an uncaught TfgenError
as `Error: MESSAGE` and exits with its exit_code (1; 2 where the error says so, as an
unknown environment does).
"""


class TfgenError(Exception):
    """Anything tfgen refuses to do: bad configuration, unsafe render, missing tool."""

    exit_code = 1  # the command line's exit code for it

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(TfgenError):
    """Bad configuration, located in a file: `FILE:LINE: FIELD.PATH: what is wrong`."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file, self.line, self.field, self.problem = file, line, field, message
        where = f"{file}:{line}" if line else file
        parts = [where, field, message] if field else [where, message]
        super().__init__(": ".join(parts))
        self.args = (file, line, field, message)  # what pickle rebuilds it from (a child process's error)


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
        TfgenError.__init__(self, f"{len(errors)} errors in the configuration:\n" + "\n".join(lines))
        self.args = (errors,)
