"""The availability zones an interface endpoint may use, held as AWS holds them (moto 5.2.5
holds none: it takes any subnets, and offers every service in every zone of the region).

AWS's rules (the PrivateLink guide: an endpoint takes subnets "in different Availability
Zones (as supported by the service)"; DescribeVpcEndpointServices lists each service's zones),
with AWS's errors, on CreateVpcEndpoint and ModifyVpcEndpoint (the subnets it ends with):
  - two subnets in one zone: DuplicateSubnetsInSameZone, "Found another VPC endpoint subnet in
    the availability zone of SUBNET. VPC endpoint subnets should be in different availability
    zones supported by the VPC endpoint service.";
  - a subnet in a zone the service is not offered in: InvalidParameter, "The VPC endpoint
    service SERVICE does not support the availability zone of the subnet: SUBNET.".
Also moto's own bug in the call preflight makes: DescribeVpcEndpointServices with Filters
answered a 500 (it reads each filter's values from a key its parser does not fill).
Which zones a service lacks is the test's to say: `withhold(service_name, zone)` (or
Emulator.withhold_zone) takes a zone from the service in DescribeVpcEndpointServices and in
the rule above; every emulator starts with each service in every zone again (`reset`).
"""

from __future__ import annotations

WITHHELD: dict[str, set[str]] = {}  # service name -> zones it is not offered in


def withhold(service_name: str, zone: str) -> None:
    WITHHELD.setdefault(service_name, set()).add(zone)


def reset() -> None:
    WITHHELD.clear()


def install() -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.vpcs import VPCBackend

    create, modify, describe = (VPCBackend.create_vpc_endpoint, VPCBackend.modify_vpc_endpoint,
                                VPCBackend.describe_vpc_endpoint_services)

    def refuse(backend, service_name: str, subnet_ids: list[str]) -> None:
        seen: set[str] = set()
        for subnet_id in subnet_ids:
            zone = backend.get_subnet(subnet_id).availability_zone
            if zone in seen:
                raise EC2ClientError("DuplicateSubnetsInSameZone", "Found another VPC endpoint subnet in the "
                                     f"availability zone of {subnet_id}. VPC endpoint subnets should be in different "
                                     "availability zones supported by the VPC endpoint service.")
            if zone in WITHHELD.get(service_name, ()):
                raise EC2ClientError("InvalidParameter", f"The VPC endpoint service {service_name} does not support "
                                                         f"the availability zone of the subnet: {subnet_id}.")
            seen.add(zone)

    def create_vpc_endpoint(self, vpc_id, service_name, endpoint_type, *args, **kwargs):
        if endpoint_type and endpoint_type.lower() == "interface":
            refuse(self, service_name, list(dict.fromkeys(kwargs.get("subnet_ids") or [])))
        return create(self, vpc_id, service_name, endpoint_type, *args, **kwargs)

    def modify_vpc_endpoint(self, vpc_id, *args, **kwargs):
        endpoint = self.vpc_end_points.get(vpc_id)
        if endpoint is not None and (endpoint.vpc_endpoint_type or "").lower() == "interface":
            removed = set(kwargs.get("remove_subnets") or [])
            kept = [s for s in endpoint.subnet_ids or [] if s not in removed]
            refuse(self, endpoint.service_name, list(dict.fromkeys(kept + list(kwargs.get("add_subnets") or []))))
        return modify(self, vpc_id, *args, **kwargs)

    def describe_vpc_endpoint_services(self, *args, **kwargs):
        # moto 5.2.5 reads a filter's values from "Value", and its request parser gives "Values":
        # any Filters (service-name included) raised KeyError, a 500.
        kwargs["filters"] = [{**f, "Value": f.get("Value", f.get("Values", []))} for f in kwargs.get("filters") or []]
        answer = describe(self, *args, **kwargs)
        answer["servicesDetails"] = [  # copies: moto keeps the defaults in a cache shared by every account
            {**service, "AvailabilityZones": [zone for zone in service.get("AvailabilityZones", [])
                                              if zone not in WITHHELD[service["ServiceName"]]]}
            if service["ServiceName"] in WITHHELD else service for service in answer["servicesDetails"]]
        return answer

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint
    VPCBackend.modify_vpc_endpoint = modify_vpc_endpoint
    VPCBackend.describe_vpc_endpoint_services = describe_vpc_endpoint_services
