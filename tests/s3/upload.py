"""Uploads a local folder to an S3-compatible endpoint with boto3 (a real
client, independent of ckptcat) for tests/objstore: every file under FOLDER
becomes the key PREFIX + its relative path.

    upload.py ENDPOINT BUCKET FOLDER PREFIX [--folder-markers]

--folder-markers also puts an empty object "<folder>/" for every folder, as
the S3 and GCS consoles do. s3rver needs them: its delimiter listings show a
common prefix only for a folder that directly holds an object, so a folder
holding only folders (a run holding step folders) would be invisible.
"""
import os
import sys

import boto3
from botocore.config import Config

endpoint, bucket, folder, prefix = sys.argv[1:5]
folder_markers = "--folder-markers" in sys.argv[5:]
client = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="S3RVER",
    aws_secret_access_key="S3RVER",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
)
count = 0
for root, dirs, files in os.walk(folder):
    if folder_markers:
        for name in sorted(dirs):
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            client.put_object(Bucket=bucket, Key=prefix + rel + "/", Body=b"")
    for name in sorted(files):
        path = os.path.join(root, name)
        key = prefix + os.path.relpath(path, folder).replace(os.sep, "/")
        with open(path, "rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body.read())
        count += 1
print(count)
