"""The container image AWS provides for SageMaker that `tfgen accept --jobs` runs, and where it is.

AWS publishes its SageMaker framework images in a registry account of its own in each region
(the "Docker Registry Paths and Example Code" pages of the SageMaker developer guide). The
table below is the scikit-learn framework's, copied from AWS's own machine-readable list: the
SageMaker Python SDK's `src/sagemaker/image_uri_config/sklearn.json` (aws/sagemaker-python-sdk,
commit 08288184373326dab899e933d98b758fa7fa87e3, version 1.2-1, the "training" scope, which the
processing scope repeats), read on 2026-12-02. botocore holds no such list, and the SDK is too
heavy a dependency for one table. Only the commercial partition's regions (arn:aws): China and
GovCloud images live in other partitions, whose ARNs tfgen does not render.

The one image serves both jobs: SageMaker's SKLearnProcessor runs it as a processing container,
and as a training container it runs a script by its `sagemaker_program` hyperparameter
(AWS's sagemaker-training-toolkit). tfgen's execution roles may pull it (generator/design/iam.py):
AWS's "How to use SageMaker AI execution roles" scopes a role's ECR permissions to the job's
image, whichever account's registry holds it.
"""

from __future__ import annotations

from generator.errors import TfgenError

SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
SKLEARN_TAG = "1.2-1-cpu-py3"
SOURCE = ("the SageMaker Python SDK's image_uri_config/sklearn.json (aws/sagemaker-python-sdk commit "
          "08288184373326dab899e933d98b758fa7fa87e3, read 2026-12-02)")

# region -> the AWS account whose registry holds the scikit-learn 1.2-1 image there.
SKLEARN_REGISTRIES = {
    "af-south-1": "510948584623", "ap-east-1": "651117190479", "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698", "ap-northeast-3": "867004704886", "ap-south-1": "720646828776",
    "ap-south-2": "628508329040", "ap-southeast-1": "121021644041", "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941", "ap-southeast-4": "106583098589", "ca-central-1": "341280168497",
    "eu-central-1": "492215442770", "eu-central-2": "680994064768", "eu-north-1": "662702820516",
    "eu-south-1": "978288397137", "eu-south-2": "104374241257", "eu-west-1": "141502667606",
    "eu-west-2": "764974769150", "eu-west-3": "659782779980", "me-central-1": "272398656194",
    "me-south-1": "801668240914", "sa-east-1": "737474898029", "us-east-1": "683313688378",
    "us-east-2": "257758044811", "us-west-1": "746614075791", "us-west-2": "246618743249",
}


def sklearn_registry(region: str) -> str | None:
    """The account of AWS's scikit-learn registry in the region, or None where AWS's list has none."""
    return SKLEARN_REGISTRIES.get(region)


def sklearn_image(region: str) -> str:
    """The image URI, as a job names it; a region AWS's list does not name is an error saying so."""
    account = sklearn_registry(region)
    if account is None:
        raise TfgenError(f"no scikit-learn image AWS provides for SageMaker is known in {region}: {SOURCE} lists "
                         f"{', '.join(sorted(SKLEARN_REGISTRIES))}")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{SKLEARN_REPOSITORY}:{SKLEARN_TAG}"


def sklearn_repository_arn(region: str) -> str | None:
    """The ARN of that image's repository, as IAM names it (ecr:BatchGetImage is granted on it)."""
    account = sklearn_registry(region)
    return f"arn:aws:ecr:{region}:{account}:repository/{SKLEARN_REPOSITORY}" if account else None
