"""Create protoland's pipeline on a local S3/SQS server (moto, MinIO + ElasticMQ, LocalStack).

Buckets `raw` and `landing`, a queue `raw-events` with a dead-letter queue
`raw-events-dlq` (moved there after 3 receives), and the raw bucket's
notification of created objects to the queue: what deploy/template.yaml
creates on AWS, minus the function. Prints the queue's URL for
`protoland worker --queue-url`.

    export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    .venv/bin/python scripts/local_stack.py

Running it again is harmless: existing buckets and queues are kept.
"""

import json
import os
import sys

import boto3


def main() -> int:
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print(
            "AWS_ENDPOINT_URL is not set: this script is for a local server, not an AWS account",
            file=sys.stderr,
        )
        return 2
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in ("raw", "landing"):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
    dlq = sqs.create_queue(QueueName="raw-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="raw-events",
        Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket="raw",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    print(queue)
    return 0


if __name__ == "__main__":
    sys.exit(main())
