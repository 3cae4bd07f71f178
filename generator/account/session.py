"""One AWS session for an environment's live commands: preflight, verify, accept, outputs.

The session knows the account and the region the environment is in (its YAML's
`account_id` and `region`). Before any other call it asks STS whose the credentials are
(GetCallerIdentity, which needs no permission): credentials of another account are refused,
naming both accounts, so that no command reads, or (accept) writes to, an account that is
not the environment's, and nothing else is asked of that account.

Every client is built for the environment's region, whatever AWS_REGION,
AWS_DEFAULT_REGION or the profile say. A differing region is not refused: every name and
ARN the commands look up is the design's, computed from the environment's region, and the
resources are there; a client of another region would find none of them and answer
"missing" (verify) or "free to create" (preflight), an answer about the wrong place rather
than an error. So the region asked is always the right one, the report names it, and where
the account is refused and the credentials' region differs too, the refusal names both
regions (the wrong profile was likely chosen).

AWS_ENDPOINT_URL, boto3's own setting, points every client at the emulator, as today.

While the session is open, botocore's errors (no credentials, no connection, AWS refusing a
call) become a TfgenError saying what the command needs; aws_error words an error that is
one result's detail rather than the end of the command.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from generator.design.model import Design
from generator.errors import TfgenError

CREDENTIALS = "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"


class WrongAccount(TfgenError):
    """Credentials of another account than the environment's: nothing was asked of it."""


class AccountSession:
    """boto3 clients for one environment's account and region; guard() before any use."""

    def __init__(self, the_design: Design, boto_session=None):
        import boto3

        self.design = the_design
        self.env, self.account, self.region = the_design.env, the_design.config.account_id, the_design.config.region
        self._boto = boto_session or boto3.session.Session()
        self.credentials_region = getattr(self._boto, "region_name", None)  # the profile's, or AWS_REGION's
        self.caller = ""  # the ARN STS named

    def client(self, service: str, **kwargs):
        """A client of the service in the environment's region (never the profile's)."""
        return self._boto.client(service, region_name=self.region, **kwargs)

    def guard(self) -> None:
        """STS first: refuse credentials of another account, naming both (and both regions
        where they differ)."""
        import botocore.exceptions

        try:
            identity = self.client("sts").get_caller_identity()
        except botocore.exceptions.ClientError as exc:
            raise TfgenError(f"AWS refused GetCallerIdentity: {aws_error(exc)}: the credentials are not valid; "
                             f"set {CREDENTIALS} for {self.env}'s account {self.account}") from None
        self.caller = identity.get("Arn", "")
        if identity["Account"] != self.account:
            regions = ""
            if self.credentials_region and self.credentials_region != self.region:
                regions = f"; their region is {self.credentials_region}, {self.env}'s is {self.region}"
            raise WrongAccount(f"the credentials are for account {identity['Account']} ({self.caller}), but "
                               f"{self.env} is account {self.account}: use {self.env}'s credentials "
                               f"({CREDENTIALS}){regions}")

    def report(self, command: str, results: Iterable):
        from generator.account.report import Report

        return Report(command, self.env, self.account, self.region, tuple(results))


@contextmanager
def opened(the_design: Design, needs: str, boto_session=None) -> Iterator[AccountSession]:
    """The environment's session, its account guarded before anything else is asked; inside,
    botocore's errors become TfgenError. needs: what the command needs of the account, said
    when AWS refuses a call."""
    with aws_errors(needs):
        session = AccountSession(the_design, boto_session)
        session.guard()
        yield session


@contextmanager
def aws_errors(needs: str) -> Iterator[None]:
    import botocore.exceptions

    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise TfgenError(f"no AWS credentials: set {CREDENTIALS} (or AWS_ENDPOINT_URL for the emulator)") from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise TfgenError(f"cannot reach AWS: {exc}") from None
    except botocore.exceptions.ClientError as exc:
        raise TfgenError(f"AWS refused {exc.operation_name}: {aws_error(exc)} ({needs})") from None
    except botocore.exceptions.BotoCoreError as exc:  # a profile not configured, an expired SSO login...
        raise TfgenError(f"cannot use the AWS credentials: {exc}") from None


def aws_error(exc: Exception) -> str:
    """An exception as a line of a report: AWS's error code and message where AWS answered
    (botocore's ClientError), else its type and text."""
    code = error_code(exc)
    if code is not None:
        return f"{code}: {exc.response['Error'].get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def error_code(exc: Exception) -> str | None:
    """AWS's error code, where AWS answered."""
    response = getattr(exc, "response", None)
    return response["Error"].get("Code") if isinstance(response, dict) and "Error" in response else None
