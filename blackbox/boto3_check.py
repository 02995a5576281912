"""boto3 against a running bucketshare: multipart upload_file, download, listing, errors.

Usage: boto3_check.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET WORKDIR
Prints one line per check; exits non-zero on the first failure.
"""
import hashlib
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, access_key, secret_key, bucket, workdir = sys.argv[1:6]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=access_key,
    aws_secret_access_key=secret_key,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}),
)


def check(name, ok):
    print(("ok    " if ok else "FAIL  ") + name)
    if not ok:
        sys.exit(1)


src = os.path.join(workdir, "boto3-12mib.bin")
with open(src, "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024))
digest = hashlib.md5(open(src, "rb").read()).hexdigest()

config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_file(src, bucket, "boto3/big.bin", Config=config)
head = s3.head_object(Bucket=bucket, Key="boto3/big.bin")
check("boto3 multipart upload_file gives a 3-part ETag", head["ETag"].strip('"').endswith("-3"))

dst = os.path.join(workdir, "boto3-back.bin")
s3.download_file(bucket, "boto3/big.bin", dst)
check("boto3 download_file returns the same bytes", hashlib.md5(open(dst, "rb").read()).hexdigest() == digest)

s3.put_object(Bucket=bucket, Key="boto3/small.txt", Body=b"hello", Metadata={"k": "v"}, ContentType="text/plain")
got = s3.get_object(Bucket=bucket, Key="boto3/small.txt")
check("boto3 put/get keeps metadata and content type",
      got["Body"].read() == b"hello" and got["Metadata"] == {"k": "v"} and got["ContentType"] == "text/plain")

keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="boto3/")["Contents"]]
check("boto3 lists in byte order", keys == ["boto3/big.bin", "boto3/small.txt"])

try:
    s3.get_object(Bucket=bucket, Key="boto3/missing")
    check("boto3 missing key raises NoSuchKey", False)
except ClientError as e:
    check("boto3 missing key raises NoSuchKey", e.response["Error"]["Code"] == "NoSuchKey")

url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "boto3/small.txt"}, ExpiresIn=300)
print("url " + url)
