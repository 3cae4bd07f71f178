# Fixtures for tfgen's custom checkov checks (policies/checkov/), in the style of checkov's
# own check tests: each rule resource below is expected to pass or fail each check, as
# tests/policies/test_checkov.py lists. The VPC CIDR is 10.30.0.0/16 (TFGEN_VPC_CIDR).

resource "aws_security_group" "training" {
  name   = "acme-sm-training"
  vpc_id = "vpc-0c1b2c3d4e5f60001"
}

resource "aws_security_group" "processing" {
  name   = "acme-sm-processing"
  vpc_id = "vpc-0c1b2c3d4e5f60001"
}

resource "aws_security_group" "inference" {
  name   = "acme-sm-inference"
  vpc_id = "vpc-0c1b2c3d4e5f60001"
}

resource "aws_security_group" "studio" {
  name   = "acme-sm-studio"
  vpc_id = "vpc-0c1b2c3d4e5f60001"
}

# The plan's own rules: all pass every check.
resource "aws_vpc_security_group_ingress_rule" "training_all_from_self" {
  security_group_id            = aws_security_group.training.id
  referenced_security_group_id = aws_security_group.training.id
  ip_protocol                  = "-1"
}

resource "aws_vpc_security_group_ingress_rule" "inference_https_from_vpc" {
  security_group_id = aws_security_group.inference.id
  cidr_ipv4         = "10.30.0.0/16"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "inference_8080_from_vpc" {
  security_group_id = aws_security_group.inference.id
  cidr_ipv4         = "10.30.0.0/16"
  ip_protocol       = "tcp"
  from_port         = 8080
  to_port           = 8080
}

# All traffic from the VPC instead of from the group itself.
resource "aws_vpc_security_group_ingress_rule" "training_all_from_vpc" {
  security_group_id = aws_security_group.training.id
  cidr_ipv4         = "10.30.0.0/16"
  ip_protocol       = "-1"
}

# Self-ingress on a group that is not a cluster.
resource "aws_vpc_security_group_ingress_rule" "inference_all_from_self" {
  security_group_id            = aws_security_group.inference.id
  referenced_security_group_id = aws_security_group.inference.id
  ip_protocol                  = "-1"
}

# All traffic from another group.
resource "aws_vpc_security_group_ingress_rule" "processing_all_from_training" {
  security_group_id            = aws_security_group.processing.id
  referenced_security_group_id = aws_security_group.training.id
  ip_protocol                  = "-1"
}

resource "aws_vpc_security_group_ingress_rule" "inference_https_from_world" {
  security_group_id = aws_security_group.inference.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "inference_https_from_wider" {
  security_group_id = aws_security_group.inference.id
  cidr_ipv4         = "10.0.0.0/8"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "training_8080_from_vpc" {
  security_group_id = aws_security_group.training.id
  cidr_ipv4         = "10.30.0.0/16"
  ip_protocol       = "tcp"
  from_port         = 8080
  to_port           = 8080
}

resource "aws_vpc_security_group_ingress_rule" "inference_8080_from_world" {
  security_group_id = aws_security_group.inference.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 8080
  to_port           = 8080
}

resource "aws_vpc_security_group_ingress_rule" "processing_range_over_8080" {
  security_group_id = aws_security_group.processing.id
  cidr_ipv4         = "10.30.0.0/16"
  ip_protocol       = "tcp"
  from_port         = 8000
  to_port           = 9000
}

resource "aws_vpc_security_group_ingress_rule" "studio_all_from_world" {
  security_group_id = aws_security_group.studio.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}
