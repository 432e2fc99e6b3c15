#!/usr/bin/env python3
"""Publish a rendered bench site to an S3 site bucket behind CloudFront, on moto's server in
this process: the first publish, a publish with nothing to do, and one after a page changed;
wall time and S3/CloudFront requests of each.

    python bench/bench_publish.py bench/out/render-200

The project folder is what bench_render.py leaves: var/site/ (staging) and var/renditions/
(the variants, put into the assets bucket first, not timed); the images published are those
its output/img/ holds. Nothing in the project is changed (a changed page is made in a copy).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from nailfolio.aws import clients
from nailfolio.aws.cloudfront import CloudFrontInvalidator
from nailfolio.aws.s3_rendition_store import S3RenditionStore
from nailfolio.aws.s3_site_target import S3SiteTarget
from nailfolio.gallery.publish import CachePolicy, publish_site
from nailfolio.gallery.render import StagedSite

REGION = "eu-west-1"


def staged_site(project: Path, folder: Path) -> StagedSite:
    files = {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }
    images = {f"img/{path.name}": path.name for path in (project / "output" / "img").iterdir()}
    return StagedSite(folder, files, images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request, else
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        s3 = clients.client("s3", REGION, endpoint)
        cloudfront = clients.client("cloudfront", REGION, endpoint)
        for bucket in ("bench-assets", "bench-site"):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        distribution = _distribution(cloudfront)
        store = S3RenditionStore(s3, "bench-assets")
        for path in sorted((args.project / "var" / "renditions").iterdir()):
            if not path.name.startswith("."):
                store.put(path.name, path.read_bytes())
        calls: Counter[str] = Counter()
        for client in (s3, cloudfront):
            client.meta.events.register(
                "before-call.*.*",
                lambda event_name, **_: calls.update([event_name.split(".", 1)[1]]),
            )
        cdn = CloudFrontInvalidator(cloudfront, distribution)
        policy = CachePolicy(max_invalidation_paths=100)
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "site"
            shutil.copytree(args.project / "var" / "site", copy)
            site = staged_site(args.project, copy)
            print(f"{len(site.files)} staged files, {len(site.images)} images")
            for name in ("first", "no change", "one page changed"):
                if name == "one page changed":
                    page = copy / "index.html"
                    page.write_text(page.read_text() + "\n<!-- changed -->\n")
                    site = staged_site(args.project, copy)
                calls.clear()
                target = S3SiteTarget(s3, "bench-site", store, cdn, policy)
                started = time.perf_counter()
                report = publish_site(site, target)
                seconds = time.perf_counter() - started
                shown = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
                print(
                    f"{name}: {seconds:.2f} s, {report.uploaded} uploaded "
                    f"({report.copied} copied), {sum(calls.values())} requests ({shown})"
                )
    finally:
        server.stop()


def _distribution(cloudfront: Any) -> str:
    origin = {
        "Id": "site",
        "DomainName": "bench-site.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    config = {
        "CallerReference": "bench",
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "allow-all"},
        "Comment": "",
        "Enabled": True,
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


if __name__ == "__main__":
    main()
