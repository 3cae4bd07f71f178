"""ECR's evaluation of a lifecycle policy, written from AWS's documentation, as the tests' oracle.

The Amazon ECR User Guide, "Lifecycle policy evaluation rules" and "Lifecycle policy properties":
  - rules are applied by rulePriority, lowest first;
  - tagStatus "untagged" selects images with no tag; "tagged" with a tagPrefixList selects
    images where every prefix of the list starts one of the image's tags (with a
    tagPatternList, every pattern, `*` a wildcard, matches one of its tags); "any" selects
    every image;
  - imageCountMoreThan N sorts the selected images newest first by pushed_at_time and marks
    all after the N newest; sinceImagePushed N (days) marks the selected images pushed more
    than N days ago;
  - an image is expired by exactly one or zero rules, and "an image that matches the tagging
    requirements of a rule cannot be expired by a rule with a lower priority": a rule still
    identifies (and counts) the images a higher-priority rule selected, but cannot mark them.
The examples of "Examples of lifecycle policies in Amazon ECR" are the oracle's own tests
(tests/test_image_lifecycle.py). Not modelled: storage classes (archive), sinceImagePulled and
images referenced by a manifest list, which tfgen's policies do not use.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Image:
    name: str
    tags: tuple[str, ...]
    pushed_at: datetime


def _selects(selection: dict, image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    if "tagPrefixList" in selection:
        return bool(image.tags) and all(any(tag.startswith(prefix) for tag in image.tags)
                                        for prefix in selection["tagPrefixList"])
    # fnmatchcase treats [ and ? specially; ECR's patterns have only `*`, and tags hold neither.
    return bool(image.tags) and all(any(fnmatch.fnmatchcase(tag, pattern) for tag in image.tags)
                                    for pattern in selection["tagPatternList"])


def _marked(selection: dict, selected: list[Image], now: datetime) -> list[Image]:
    if selection["countType"] == "imageCountMoreThan":
        newest_first = sorted(selected, key=lambda image: image.pushed_at, reverse=True)
        return newest_first[selection["countNumber"]:]
    if selection["countType"] == "sinceImagePushed":
        assert selection.get("countUnit", "days") == "days"
        limit = timedelta(days=selection["countNumber"])
        return [image for image in selected if now - image.pushed_at > limit]
    raise ValueError(f"countType {selection['countType']!r} is not modelled")


def expired(policy: dict, images: list[Image], now: datetime) -> set[str]:
    """The names of the images ECR expires under the policy."""
    identified: set[str] = set()  # selected by a rule of higher priority: out of reach
    gone: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        assert rule["action"]["type"] == "expire"
        selection = rule["selection"]
        selected = [image for image in images if _selects(selection, image)]
        gone |= {image.name for image in _marked(selection, selected, now) if image.name not in identified}
        identified |= {image.name for image in selected}
    return gone
