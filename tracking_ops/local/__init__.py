"""The local runtime: moto standing in for AWS, API Gateway's checks, Lambda-like workers."""
