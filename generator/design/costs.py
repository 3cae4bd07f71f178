"""What an environment's design costs before anything runs in it: its interface VPC endpoints,
billed per endpoint per availability zone per hour whether used or not (`tfgen list`).

An estimate from AWS's hourly rate (generator/config/aws_prices.py) over a 730-hour month: data
processed through the endpoints is billed on top, per GB, and not counted; the S3 gateway
endpoint is free.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.config import aws_prices
from generator.design.model import Design


@dataclass(frozen=True)
class EndpointCost:
    region: str
    endpoints: int  # interface endpoints
    zones: tuple[int, ...]  # the zones each is in (one subnet a zone), fewest first
    hourly: float | None  # USD per endpoint per zone per hour; None: no rate known for the region
    hours: int = aws_prices.HOURS_A_MONTH

    @property
    def endpoint_zones(self) -> int:
        """What AWS bills by the hour: each endpoint once in each of its zones."""
        return sum(self.zones)

    @property
    def monthly(self) -> float | None:
        return None if self.hourly is None else self.endpoint_zones * self.hourly * self.hours


def interface_endpoint_cost(d: Design) -> EndpointCost:
    endpoints = d.platform.interface_endpoints
    region = d.config.region
    return EndpointCost(region, len(endpoints), tuple(sorted(len(e.subnet_ids) for e in endpoints)),
                        aws_prices.interface_endpoint_hourly(region))
