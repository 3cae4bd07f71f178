"""AWS's own rules that the configuration and the policies both check against.

The limits on the names and descriptions tfgen renders (pattern, shortest, longest) are
read from botocore's service models, AWS's own description of each API request, not copied
by hand: see "Names and descriptions" below.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib.util
import ipaddress
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass

from generator.support.cache import cache_dir, make_folder, read_trusted
from generator.errors import TfgenError

# CloudWatch Logs PutRetentionPolicy accepts only these values.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

PRIVATE_RANGES = tuple(ipaddress.IPv4Network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

# The commercial regions where SageMaker runs (as of the aws provider 5.100.0).
REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
    "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
    "us-west-2",
})

# Interface endpoints SageMaker always needs in a private VPC (plus the S3 gateway).
REQUIRED_INTERFACE_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr", "monitoring")
# Extras a platform may add; "studio" is the one whose service name has a different shape.
OPTIONAL_INTERFACE_ENDPOINTS = ("studio", "notebook", "servicecatalog", "kms", "events")

# IAM's quota on one role's inline policies, all of them together, in characters, white space
# not counted; fixed (no quota increase). PutRolePolicy past it: LimitExceeded.
ROLE_INLINE_POLICIES_MAX = 10_240


def policy_characters(document: object) -> int:
    """A policy's size as IAM counts it against its quotas: the characters of its JSON, white
    space not counted (a JSON text is counted as written; a document as jsonencode writes it).
    White space is what a policy may hold of it: space, tab, line feed, carriage return."""
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(text) - sum(text.count(space) for space in " \t\n\r")


def interface_service_name(region: str, endpoint: str) -> str:
    """The AWS service name of an interface endpoint: Studio's has its own shape."""
    if endpoint == "studio":
        return f"aws.sagemaker.{region}.studio"
    if endpoint == "notebook":
        return f"aws.sagemaker.{region}.notebook"
    return f"com.amazonaws.{region}.{endpoint}"


# --- Names and descriptions: AWS's limits, from botocore's models ------------------------
# Each value tfgen renders into a name or description is one member of an AWS request
# (CreateModelPackageGroup's ModelPackageGroupName...). botocore's model of that request
# holds the member's pattern and lengths; where the model has none (EC2, SNS), the rule is
# in the member's documentation only, and is written here from it (a test keeps the
# documentation saying it). The models are read once, then kept in tfgen's cache folder:
# the few members used, keyed by the model files they came from.


@dataclass(frozen=True)
class Prose:
    """Rules AWS states only in the documentation of a member, where its model has none; each
    with the sentence that states it, as botocore's documentation has it."""

    length: str = ""
    min_length: int | None = None
    max_length: int | None = None
    characters: str = ""
    allowed: str | None = None  # the characters the sentence lists, as a Python character class
    prefix: str = ""
    not_prefix: str | None = None

    @property
    def sentences(self) -> tuple[str, ...]:
        return tuple(s for s in (self.length, self.characters, self.prefix) if s)


@dataclass(frozen=True)
class Limit:
    """What AWS accepts in one member of one request: `member` is dotted through lists and
    structures (ProductionVariants.VariantName)."""

    what: str  # how messages name the value: "model package group name"
    service: str
    operation: str
    member: str
    prose: Prose | None = None

    @property
    def key(self) -> str:
        return f"{self.service} {self.operation} {self.member}"

    @property
    def shape(self) -> dict:
        return _shapes()[self.key]

    @property
    def source(self) -> str:
        """Where AWS says it: "SageMaker CreateModelPackageGroup ModelPackageGroupName"."""
        return f"{self.shape['service_id']} {self.operation} {self.member.rsplit('.', 1)[-1]}"

    @property
    def min_length(self) -> int:
        prose = self.prose.min_length if self.prose else None
        return max(self.shape["min"], prose or 0)

    @property
    def max_length(self) -> int | None:
        lengths = [n for n in (self.shape["max"], self.prose and self.prose.max_length) if n]
        return min(lengths) if lengths else None

    @property
    def pattern(self) -> str | None:
        """The model's pattern, in Java's syntax, as AWS writes it."""
        return self.shape["pattern"]

    @functools.cached_property
    def _accepts(self):
        """The test of a value, all read and compiled once: a render asks it thousands of times."""
        low, high = self.min_length, self.max_length or sys.maxsize
        # A description's full pattern is thousands of Unicode ranges (10 ms to compile): only
        # a value that is not ASCII needs it.
        ascii_only, full = (_compiled(self.shape["ascii"]), self.shape["full"]) if self.pattern else (None, None)
        prose = self.prose or Prose()
        characters = _compiled(f"[{prose.allowed}]*") if prose.allowed else None

        def accepts(value: str) -> bool:
            return bool(low <= len(value) <= high
                    and not (prose.not_prefix and value.startswith(prose.not_prefix))
                    and (full is None or (ascii_only if value.isascii() else _compiled(full)).fullmatch(value))
                    and (characters is None or characters.fullmatch(value)))
        return accepts

    def problem(self, value: str) -> str | None:
        """Why AWS would refuse the value, or None."""
        return None if self._accepts(value) else self._why(value)

    def _why(self, value: str) -> str:
        size = len(value)
        counted = f"{self.what} {_shown(value)} is {size:,} characters"
        if self.max_length is not None and size > self.max_length:
            return f"{counted}; AWS allows at most {self.max_length:,} ({self.source})"
        if size < self.min_length:
            return f"{counted}; AWS requires at least {self.min_length:,} ({self.source})"
        prose = self.prose or Prose()
        if prose.not_prefix and value.startswith(prose.not_prefix):
            return (f"{self.what} {_shown(value)} starts with {prose.not_prefix!r}, which AWS does not allow "
                    f"({self.source}: \"{_plain(prose.prefix)}\")")
        if self.pattern and not _matches(self.shape, value):
            bad = _first_outside(self.shape, value)
            if bad is not None:
                return (f"{self.what} has {_character(value[bad])} at character {bad + 1}, which AWS does not allow "
                        f"({self.source}: pattern {self.pattern})")
            return f"{self.what} {_shown(value)} does not match AWS's pattern {self.pattern} ({self.source})"
        bad = next(i for i, char in enumerate(value) if not re.fullmatch(f"[{prose.allowed}]", char))
        return (f"{self.what} has {_character(value[bad])} at character {bad + 1}, which AWS does not allow "
                f"({self.source}: \"{_plain(prose.characters)}\")")

    def regex(self) -> re.Pattern:
        """The model's pattern as a compiled Python regex whose match() is a whole match."""
        return _compiled(f"(?:{self.shape['full']})\\Z")


# EC2's and SNS's models give these members no constraint: their documentation does.
_EC2_CHARACTERS = dict(characters="Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&amp;;{}!$*",
                       allowed=r"a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*")

MODEL_PACKAGE_GROUP = Limit("model package group name", "sagemaker", "CreateModelPackageGroup", "ModelPackageGroupName")
MODEL_PACKAGE_GROUP_DESCRIPTION = Limit("model package group description", "sagemaker", "CreateModelPackageGroup",
                                        "ModelPackageGroupDescription")
ENDPOINT = Limit("endpoint name", "sagemaker", "CreateEndpoint", "EndpointName")
VARIANT = Limit("production variant name", "sagemaker", "CreateEndpointConfig", "ProductionVariants.VariantName")
ECR_REPOSITORY = Limit("ECR repository name", "ecr", "CreateRepository", "repositoryName")
IAM_ROLE = Limit("IAM role name", "iam", "CreateRole", "RoleName")
IAM_ROLE_POLICY = Limit("IAM inline policy name", "iam", "PutRolePolicy", "PolicyName")
LOG_GROUP = Limit("log group name", "logs", "CreateLogGroup", "logGroupName")
ALARM = Limit("alarm name", "cloudwatch", "PutMetricAlarm", "AlarmName")
ALARM_DESCRIPTION = Limit("alarm description", "cloudwatch", "PutMetricAlarm", "AlarmDescription")
EVENT_RULE = Limit("EventBridge rule name", "events", "PutRule", "Name")
KMS_ALIAS = Limit("KMS alias", "kms", "CreateAlias", "AliasName")
SECURITY_GROUP = Limit("security group name", "ec2", "CreateSecurityGroup", "GroupName", Prose(
    length="Up to 255 characters in length.", max_length=255,
    prefix="Can't start with <code>sg-</code>.", not_prefix="sg-", **_EC2_CHARACTERS))
SECURITY_GROUP_DESCRIPTION = Limit("security group description", "ec2", "CreateSecurityGroup", "Description", Prose(
    length="Up to 255 characters in length", max_length=255, **_EC2_CHARACTERS))
SNS_TOPIC = Limit("SNS topic name", "sns", "CreateTopic", "Name", Prose(
    length="must be between 1 and 256 characters long", min_length=1, max_length=256,
    characters="Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, "
               "and hyphens", allowed=r"A-Za-z0-9_\-"))

LIMITS = (MODEL_PACKAGE_GROUP, MODEL_PACKAGE_GROUP_DESCRIPTION, ENDPOINT, VARIANT, ECR_REPOSITORY, IAM_ROLE,
          IAM_ROLE_POLICY, LOG_GROUP, ALARM, ALARM_DESCRIPTION, EVENT_RULE, KMS_ALIAS, SECURITY_GROUP,
          SECURITY_GROUP_DESCRIPTION, SNS_TOPIC)

# The names other modules (the policies) know these limits by.
_BY_OLD_NAME = {
    "MODEL_PACKAGE_GROUP_NAME": lambda: MODEL_PACKAGE_GROUP.regex(),
    "MODEL_PACKAGE_GROUP_MAX": lambda: MODEL_PACKAGE_GROUP.max_length,
    "ECR_REPOSITORY_NAME": lambda: ECR_REPOSITORY.regex(),
    "ECR_REPOSITORY_MAX": lambda: ECR_REPOSITORY.max_length,
    "IAM_ROLE_NAME": lambda: IAM_ROLE.regex(),
    "IAM_ROLE_MAX": lambda: IAM_ROLE.max_length,
}


def __getattr__(name: str):
    # Read on first use, not at import: a command that checks no name never opens a model.
    if name in _BY_OLD_NAME:
        return _BY_OLD_NAME[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 80 else repr(value[:60]) + "..."


def _plain(sentence: str) -> str:
    """Documentation's HTML as text."""
    return html.unescape(re.sub(r"<[^>]+>", "", sentence))


_CONTROL_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}


def _character(char: str) -> str:
    """A character as a message names it: "'%' (U+0025, percent sign)", "a line break (U+000A)"."""
    code = f"U+{ord(char):04X}"
    if char.isprintable():
        name = unicodedata.name(char, "").lower()
        return f"{char!r} ({code}, {name})" if name else f"{char!r} ({code})"
    return f"{_CONTROL_NAMES.get(char, 'a control character')} ({code})"


@functools.cache
def _compiled(pattern: str) -> re.Pattern:
    # re.ASCII: Java's \w, \d, \s and \b are ASCII unless told otherwise, as Python's are not.
    return re.compile(pattern, re.ASCII)


def _matches(shape: dict, value: str) -> bool:
    # AWS matches the whole value (Java's matches()). An ASCII value is matched by the
    # pattern cut down to ASCII: the same answer, without compiling every Unicode range.
    return bool(_compiled(shape["ascii" if value.isascii() else "full"]).fullmatch(value))


def _first_outside(shape: dict, value: str) -> int | None:
    """Where a value first leaves a pattern that is one character class repeated (as a
    description's is): such a pattern matches one character exactly when the class holds it."""
    if not re.fullmatch(r"\(?\[(?:\\.|[^\]\\])*\][*+]\)?", shape["pattern"]):
        return None
    return next((i for i, char in enumerate(value) if not _matches(shape, char)), None)


# --- Java's regular expressions in Python's ---------------------------------------------
# botocore's patterns are written for Java. The constructs that mean the same in Python's re
# pass as they are; \p{..} (a Unicode general category, which re lacks) becomes the ranges of
# code points of that category, from Python's own Unicode database; anything else Java reads
# differently (class intersection, \Q..\E, \h, \v, \z, \Z, named groups...) is refused, not
# guessed at. Java may know a newer Unicode than this Python: characters assigned since are
# unassigned here, so refused where AWS may take them (tfgen errs on the side of refusing).

class UntranslatablePattern(ValueError):
    pass


_SAME_ESCAPES = set("dDwWsStnrf")
_GROUP_OPENINGS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")
_CATEGORY = re.compile(r"\{([A-Z][a-z]?)\}")


def translate(java: str, ascii_only: bool = False) -> str:
    """A Java pattern as a Python one (for re.ASCII and fullmatch) that matches the same strings;
    `ascii_only`: the same for ASCII strings only (its \\p ranges cut to ASCII, a short pattern)."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(java):
        char = java[i]
        if char == "\\":
            escaped = java[i + 1:i + 2]
            if escaped in ("p", "P"):
                category = _CATEGORY.match(java, i + 2)
                if not category:
                    raise UntranslatablePattern(f"{java[i:i + 6]!r} in {java!r}")
                ranges = _category_ranges(category[1], negated=escaped == "P", ascii_only=ascii_only)
                out.append(ranges if in_class else f"[{ranges}]")
                i = category.end()
                continue
            if escaped == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", java[i + 2:i + 6]):
                out.append(java[i:i + 6])  # Python's re reads \uXXXX too
                i += 6
                continue
            if escaped in _SAME_ESCAPES or (escaped in ("b", "B") and not in_class) or (
                    escaped and not escaped.isalnum() and escaped.isascii()):
                out.append(java[i:i + 2])
                i += 2
                continue
            raise UntranslatablePattern(f"{java[i:i + 2]!r} in {java!r}")
        if in_class:
            if char == "[" or java.startswith("&&", i):
                raise UntranslatablePattern(f"a class within a class, or an intersection, in {java!r}")
            in_class = char != "]"
        elif char == "[":
            in_class = True
            opening = "[^" if java.startswith("[^", i) else "["
            if java[i + len(opening):i + len(opening) + 1] == "]":
                raise UntranslatablePattern(f"a class that starts with ']' in {java!r}")
            out.append(opening)
            i += len(opening)
            continue
        elif char == "(" and java.startswith("(?", i):
            opening = next((o for o in _GROUP_OPENINGS if java.startswith(o, i)), None)
            if not opening:
                raise UntranslatablePattern(f"{java[i:i + 4]!r} in {java!r}")
            out.append(opening)
            i += len(opening)
            continue
        out.append(char)
        i += 1
    if in_class:
        raise UntranslatablePattern(f"an unclosed class in {java!r}")
    return "".join(out)


def _category_ranges(category: str, negated: bool, ascii_only: bool) -> str:
    """A general category (L, or Lu) as the inside of a character class."""
    runs = [r for name, rs in _category_runs().items() if name.startswith(category) for r in rs]
    if not runs:
        raise UntranslatablePattern(f"\\p{{{category}}} is no Unicode general category")
    ranges: list[tuple[int, int]] = []
    for low, high in sorted(runs):
        if ranges and low == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], high)
        else:
            ranges.append((low, high))
    if negated:
        ranges = [(low, high) for low, high in zip([0] + [h + 1 for _, h in ranges], [start - 1 for start, _ in ranges]
                                                   + [sys.maxunicode]) if low <= high]
    if ascii_only:
        ranges = [(low, min(high, 127)) for low, high in ranges if low <= 127]
        if not ranges:
            return r"\U0010ffff"  # a class no ASCII character is in (this pattern is only for ASCII values)
    return "".join(_code(low) if low == high else f"{_code(low)}-{_code(high)}" for low, high in ranges)


def _code(point: int) -> str:
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


@functools.cache
def _category_runs() -> dict[str, list[tuple[int, int]]]:
    """Every code point's general category, as runs (0.3 s: only when the cache is made)."""
    category = unicodedata.category
    runs: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, category("\x00")
    for point in range(1, sys.maxunicode + 1):
        this = category(chr(point))
        if this != current:
            runs.setdefault(current, []).append((start, point - 1))
            start, current = point, this
    runs.setdefault(current, []).append((start, sys.maxunicode))
    return runs


# --- Reading the models once ---------------------------------------------------------------
# The cache holds, for each member in LIMITS, its shape's lengths and pattern with the
# pattern's two translations; its name is a hash of what it was made from (the model files'
# paths, sizes and times, the members, this Python's Unicode and this module's translation),
# so a new botocore makes a new one. Anything wrong with it means reading the models again.

CACHE_PREFIX = "aws-limits-"
TRANSLATION_VERSION = 1  # raise when translate() changes what it writes


@functools.cache
def _shapes() -> dict[str, dict]:
    files = _model_files()
    made_from = json.dumps([TRANSLATION_VERSION, sys.version_info[:2], unicodedata.unidata_version,
                            sorted(limit.key for limit in LIMITS),
                            [(path, *_stat(path)) for _, path in sorted(files.items())]])
    cache_file = os.path.join(cache_dir(), f"{CACHE_PREFIX}{hashlib.sha256(made_from.encode()).hexdigest()[:24]}.json")
    cached = read_trusted(cache_file)  # the limits are AWS's word only if nobody else wrote them
    try:
        shapes = json.loads(cached) if cached is not None else None
        if isinstance(shapes, dict) and all(limit.key in shapes for limit in LIMITS):
            return shapes
    except ValueError:
        pass
    shapes = _read_models(files)
    _write_cache(cache_file, shapes)
    return shapes


def _model_files() -> dict[str, str]:
    """Each service's model in botocore's own data, at its latest API version (as botocore
    picks it), found without importing botocore (that alone takes 0.1 s)."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.origin:
        raise TfgenError("botocore is not installed: tfgen reads AWS's limits on names from its service models "
                         "(pip install -e . installs it)")
    data = os.path.join(os.path.dirname(spec.origin), "data")
    files = {}
    for service in sorted({limit.service for limit in LIMITS}):
        folder = os.path.join(data, service)
        found = [os.path.join(folder, version, f"service-2{ext}")
                 for version in sorted(os.listdir(folder) if os.path.isdir(folder) else (), reverse=True)
                 for ext in (".json", ".json.gz")
                 if os.path.isfile(os.path.join(folder, version, f"service-2{ext}"))]
        if not found:
            raise TfgenError(f"botocore at {os.path.dirname(spec.origin)} has no model of {service}: tfgen reads "
                             "AWS's limits on names from it")
        files[service] = found[0]
    return files


def _stat(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def _read_models(files: dict[str, str]) -> dict[str, dict]:
    from botocore.loaders import Loader

    data = os.path.dirname(os.path.dirname(os.path.dirname(next(iter(files.values())))))
    loader = Loader(extra_search_paths=[data], include_default_search_paths=False)  # botocore's own, not ~/.aws/models
    shapes: dict[str, dict] = {}
    for service, path in files.items():
        model = loader.load_service_model(service, "service-2", api_version=os.path.basename(os.path.dirname(path)))
        for limit in (limit for limit in LIMITS if limit.service == service):
            shapes[limit.key] = _member_shape(model, limit)
    return shapes


def _member_shape(model: dict, limit: Limit) -> dict:
    shapes = model["shapes"]
    try:
        name = model["operations"][limit.operation]["input"]["shape"]
        for part in limit.member.split("."):
            while shapes[name]["type"] == "list":
                name = shapes[name]["member"]["shape"]
            name = shapes[name]["members"][part]["shape"]
    except KeyError:
        raise TfgenError(f"botocore's {limit.service} model has no {limit.operation} {limit.member}: tfgen cannot "
                         f"read AWS's limits on the {limit.what} from it") from None
    shape = shapes[name]
    pattern = shape.get("pattern")
    try:
        translations = {"ascii": translate(pattern, ascii_only=True), "full": translate(pattern)} if pattern else {}
    except UntranslatablePattern as exc:
        raise TfgenError(f"botocore's pattern for the {limit.what} ({limit.service} {name}) uses what tfgen cannot "
                         f"read yet: {exc}") from None
    return {"service_id": model["metadata"].get("serviceId", limit.service), "shape": name,
            "min": shape.get("min", 0), "max": shape.get("max"), "pattern": pattern, **translations}


def _write_cache(cache_file: str, shapes: dict) -> None:
    folder, name = os.path.split(cache_file)
    partial = f"{cache_file}.{os.getpid()}.partial"
    try:
        make_folder(folder)
        with open(partial, "w", encoding="utf-8") as out:
            os.chmod(partial, 0o600)  # read back only if nobody else can write it (cache.trusted)
            json.dump(shapes, out)
        os.replace(partial, cache_file)  # whole or not at all, also with two renders at once
        for other in os.listdir(folder):
            if other.startswith(CACHE_PREFIX) and other != name and not other.endswith(".partial"):
                os.remove(os.path.join(folder, other))
    except OSError:  # no cache this time; the limits themselves are unaffected
        try:
            os.remove(partial)
        except OSError:
            pass
