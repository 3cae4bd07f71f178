"""What AWS charges by the hour for an interface VPC endpoint, per region: `tfgen list` estimates
an environment's fixed monthly cost of its interface endpoints from it.

AWS PrivateLink's pricing page (https://aws.amazon.com/privatelink/pricing/, "Interface Endpoint
pricing") bills "each hour that your VPC endpoint remains provisioned in each Availability
Zone", as "Pricing per VPC endpoint per AZ ($/hour)", and each partial hour as a full one;
data processed through an endpoint is billed apart, per GB ($0.01 for the first PB a month in a
region), and not estimated here. The page shows the hourly rate of the region chosen in it;
the rates below are those it shows, as AWS's price list publishes them (the AmazonVPC offer,
usage type <REGION>-VpcEndpoint-Hours), read on 2026-12-02. Only regions whose rate was read
are listed: for any other, `tfgen list` says there is no rate rather than guess one. The S3
gateway endpoint is free (Amazon VPC pricing: no data processing or hourly charges for
gateway endpoints).
"""

from __future__ import annotations

SOURCE = ("AWS PrivateLink pricing, interface endpoints, per VPC endpoint per AZ "
          "(https://aws.amazon.com/privatelink/pricing/, read 2026-12-02)")
HOURS_A_MONTH = 730  # AWS's pricing examples and calculator: 24 x 365 / 12

# region -> USD per interface endpoint per availability zone per hour.
INTERFACE_ENDPOINT_HOURLY_USD = {
    "ap-southeast-5": 0.0117,
    "eu-west-1": 0.011,
    "us-east-1": 0.01,
    "us-west-2": 0.01,
}


def interface_endpoint_hourly(region: str) -> float | None:
    """USD an hour for one interface endpoint in one zone of the region; None where none was read."""
    return INTERFACE_ENDPOINT_HOURLY_USD.get(region)
