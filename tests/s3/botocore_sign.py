"""Signs one request with botocore (an independent SigV4 implementation) for
tests/objstore: reads {method, url, headers, region, service, access_key_id,
secret_access_key, amz_date} as JSON on stdin, prints {canonical_request,
string_to_sign, signature} as JSON. The headers must include X-Amz-Date (and
x-amz-content-sha256 for S3) exactly as the request sends them."""
import json
import sys

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
request = AWSRequest(method=spec["method"], url=spec["url"], headers=spec["headers"])
request.context["timestamp"] = spec["amz_date"]
signer_class = S3SigV4Auth if spec["service"] == "s3" else SigV4Auth
signer = signer_class(
    Credentials(spec["access_key_id"], spec["secret_access_key"]), spec["service"], spec["region"]
)
canonical_request = signer.canonical_request(request)
string_to_sign = signer.string_to_sign(request, canonical_request)
json.dump(
    {
        "canonical_request": canonical_request,
        "string_to_sign": string_to_sign,
        "signature": signer.signature(string_to_sign, request),
    },
    sys.stdout,
)
