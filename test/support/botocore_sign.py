"""Signs one request with botocore's SigV4Auth, as boto3 and the AWS CLI sign: reads a JSON request on stdin,
prints the prepared URL and headers as JSON. Query pairs go through `params` (botocore encodes them), or,
when a key repeats, into the URL already encoded as botocore's percent_encode does."""
import json
import sys
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

r = json.load(sys.stdin)
pairs = r.get("query", [])
keys = [k for k, _ in pairs]
url = r["url"]
params = None
if len(set(keys)) < len(keys):
    url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
elif pairs:
    params = dict(pairs)
request = AWSRequest(method=r["method"], url=url, params=params, data=r.get("body"), headers=r.get("headers", {}))
SigV4Auth(Credentials(r["accessKeyId"], r["secretAccessKey"]), "execute-api", r["region"]).add_auth(request)
prepared = request.prepare()
json.dump({"url": prepared.url, "headers": dict(prepared.headers.items())}, sys.stdout)
