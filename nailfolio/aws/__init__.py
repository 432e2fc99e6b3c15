"""AWS adapters: one module per service a port runs on (DynamoDB, S3, Cognito, ...)."""
