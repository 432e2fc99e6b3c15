"""HTTP wiring: the API's services and errors, plumbing, OpenAPI, CSP, the local server."""
