"""AWS adapters: one module per port, each a class taking its boto3 client or table."""
