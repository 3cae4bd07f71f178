"""tfgen: the platform's YAML becomes reviewable Terraform for the SageMaker workload layer."""
