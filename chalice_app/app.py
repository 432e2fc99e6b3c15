"""Nailfolio's HTTP API (Chalice). Routes stay thin: the logic lives in the nailfolio package."""

from chalice import Chalice

app = Chalice(app_name="nailfolio")


@app.route("/api/health")
def health() -> dict[str, str]:
    """Liveness probe for the load balancer and the local server."""
    return {"status": "ok"}
