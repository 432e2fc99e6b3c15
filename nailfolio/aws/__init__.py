"""AWS adapters: one module per port, each taking its boto3 client in its constructor."""
