"""Reading rendered Terraform back (HCL or a plan) into one inventory: what check and diff read."""
