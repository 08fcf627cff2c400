"""The ``fitroom`` command: serve, worker, keys, tryon, eval.

Flags mirror ``Settings`` fields (``--data-dir`` is ``FITROOM_DATA_DIR``); a flag given
on the command line wins over the environment, an absent flag leaves it alone.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fitroom.options import Effort, OutputFormat, Region
from fitroom.settings import Settings

app = typer.Typer(help="Fitroom: self-hosted virtual try-on server.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        from fitroom import __version__

        print(f"fitroom {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Fitroom: self-hosted virtual try-on server."""


keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
err = Console(stderr=True, soft_wrap=True)  # never wrap a path or a command mid-line

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (env FITROOM_DATA_DIR).")]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (env FITROOM_DATABASE_URL).")]
StorageUrl = Annotated[
    str | None,
    typer.Option(
        "--storage-url", help="file:///path or s3://bucket/prefix (env FITROOM_STORAGE_URL; default: the data dir)."
    ),
]
RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        help="Redis for rate limits and job wake-ups shared across processes and machines (env FITROOM_REDIS_URL).",
    ),
]
Engines = Annotated[
    str | None,
    typer.Option(
        "--engines",
        help="Run a lane for these engines only, comma-separated (default: every engine ready here; "
        "see `fitroom engines`) (env FITROOM_ENGINES).",
    ),
]
Routes = Annotated[
    list[str] | None,
    typer.Option(
        "--route",
        help="KIND=ENGINE or DIALECT:KIND=ENGINE, e.g. fashn:clothing=fashn-vton-1.5; repeatable [env FITROOM_ROUTES].",
    ),
]


def _settings(**overrides: Any) -> Settings:
    """The settings, or an exit with one line per bad value, named as its variable."""
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                name = "FITROOM_" + "_".join(str(part) for part in error["loc"]).upper()
                message = f"{name}: {message} (given: {error.get('input')!r})"
            err.print(f"[red]bad setting[/red]: {message}")
        raise typer.Exit(2) from None


def _key_stores(settings: Settings, *, create: bool) -> Any:
    """The stores ``fitroom keys`` works on, after saying which data directory they are
    in. Without a database URL, a data directory that holds no database is refused
    (list, revoke: a typo must not look like an empty server) or created, and said so."""
    from fitroom.runtime import Stores

    where = settings.data_dir.resolve()
    if settings.database_url:
        err.print(f"Data directory: {where}; database: {settings.database_url.split('@')[-1]}")
    elif not (settings.data_dir / "fitroom.db").exists():
        if not create:
            err.print(
                f"[red]no Fitroom data in {where}[/red] (no fitroom.db there): pass --data-dir, or set "
                "FITROOM_DATA_DIR, to the directory `fitroom serve` uses"
            )
            raise typer.Exit(1)
        err.print(f"Data directory: {where} (new: created now)")
    else:
        err.print(f"Data directory: {where}")
    return Stores.open(settings)


def _check_can_start(settings: Settings, *, run_workers: bool) -> None:
    """Refuse to start, in one sentence, when a named engine cannot run here, a route
    names an engine that cannot serve it, or blobs cannot be stored: better now than a
    job that waits forever or fails on its first image."""
    from fitroom.api.dialects import DIALECTS
    from fitroom.errors import EngineUnavailable, StorageUnavailable
    from fitroom.jobs.routing import Router
    from fitroom.jobs.worker import plan_lanes
    from fitroom.storage import open_storage
    from fitroom.storage.signing import UrlSigner

    try:
        Router(settings, [d.name for d in DIALECTS])
        if run_workers:
            plan_lanes(settings, settings.engines)
        # Only reached, not used: any secret signs nothing here.
        open_storage(settings.resolved_storage_url, UrlSigner(b"check"), settings.resolved_base_url).check()
    except (EngineUnavailable, StorageUnavailable) as exc:
        err.print(f"[red]cannot start[/red]: {exc.message}")
        raise typer.Exit(1) from None
    except ValueError as exc:
        err.print(f"[red]cannot start[/red]: {exc}")
        raise typer.Exit(1) from None
    if settings.storage_url and settings.storage_url.startswith("s3://") and not settings.secret_key:
        # Shared storage means several processes hand out result URLs (servers in polls,
        # workers in webhooks); each data dir's own key would make the others' URLs fail.
        err.print(
            "[yellow]note[/yellow]: FITROOM_SECRET_KEY is unset, so result URLs are signed with this data dir's own "
            "key; give every server and worker of a cluster the same FITROOM_SECRET_KEY"
        )


# --- server ----------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (env FITROOM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env FITROOM_PORT).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Engine processes per CPU lane; -1 = one per core, 0 = API only (no lanes) (env FITROOM_WORKERS)."
        ),
    ] = None,
    api_workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="API processes on the port; more than 1 needs FITROOM_REDIS_URL (env FITROOM_API_WORKERS).",
        ),
    ] = None,
    storage_url: StorageUrl = None,
    redis_url: RedisUrl = None,
    engines: Engines = None,
    route: Routes = None,
) -> None:
    """Run the API server, with a lane per ready engine unless --workers 0."""
    overrides = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
        "workers": workers,
        "api_workers": api_workers,
        "storage_url": storage_url,
        "redis_url": redis_url,
        "engines": engines,
        "routes": ",".join(route) if route else None,
    }
    settings = _settings(**overrides)
    if settings.api_workers > 1:
        # The API processes and the lanes process add their metrics up in files; the
        # variable must be set before prometheus-client is first imported.
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    import uvicorn

    from fitroom.api.app import create_app
    from fitroom.runtime import Stores

    if settings.api_workers > 1 and not settings.redis_url:
        err.print(
            "[red]cannot start[/red]: with --api-workers above 1, each process would count rate limits on its "
            "own and allow N times the documented rate; set FITROOM_REDIS_URL (or --redis-url) to share them"
        )
        raise typer.Exit(2)
    _check_can_start(settings, run_workers=settings.worker_count > 0)
    stores = Stores.open(settings)
    try:
        first_key = None
        if stores.keys.count() == 0:
            _, first_key = stores.keys.create("default")
    finally:
        stores.close()
    base = settings.resolved_base_url
    print(f"Fitroom {base}  (playground: {base}/, docs: {base}/docs, data: {settings.data_dir.resolve()})", flush=True)
    if first_key:
        print("Created the first API key (shown once, keep it):", flush=True)
        print(f"  export FITROOM_KEY={first_key}", flush=True)
    else:  # keys are stored hashed: an existing one cannot be shown again
        print(
            "Keys exist in this data dir; make another with: "
            f"fitroom keys create --name NAME --data-dir {settings.data_dir}",
            flush=True,
        )
    if settings.api_workers == 1:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            access_log=settings.access_log,
        )
        return
    # Several API processes: uvicorn forks them, each building the app from the
    # environment (so the flags go there), serving the API only. The lanes run once per
    # machine, in one process of their own beside them.
    os.environ.update(_environment(overrides))
    lanes = None
    if settings.worker_count > 0:
        lanes = multiprocessing.get_context("spawn").Process(
            target=_lanes_process, args=(settings.model_dump(mode="json"),), name="fitroom-lanes"
        )
        lanes.start()
    try:
        uvicorn.run(
            "fitroom.api.app:create_api_app",
            factory=True,
            workers=settings.api_workers,
            host=settings.host,
            port=settings.port,
            log_level="info",
            access_log=settings.access_log,
        )
    finally:
        if lanes is not None:
            lanes.terminate()
            lanes.join(timeout=30)


def _environment(overrides: dict[str, Any]) -> dict[str, str]:
    """``FITROOM_*`` variables for flags given on the command line."""
    env = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(value)
        env[f"FITROOM_{name.upper()}"] = str(value)
    return env


def _lanes_process(settings_json: dict[str, Any]) -> None:
    """The lanes of ``serve --api-workers N``: a worker in a process of its own, which
    dies with the server."""
    from fitroom.jobs.execute import _die_with_parent

    _die_with_parent()
    _run_worker(Settings(**settings_json), announce=False)


@app.command()
def worker(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    storage_url: StorageUrl = None,
    redis_url: RedisUrl = None,
    engines: Engines = None,
    slots: Annotated[
        int | None, typer.Option(help="Engine processes per CPU lane (default: one per core) (env FITROOM_WORKERS).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's metrics (run times) on this port (env FITROOM_WORKER_METRICS_PORT)."),
    ] = None,
) -> None:
    """Run jobs only, one lane per engine, sharing the database and storage with
    `fitroom serve --workers 0`."""
    settings = _settings(
        data_dir=data_dir,
        database_url=database_url,
        storage_url=storage_url,
        redis_url=redis_url,
        workers=slots,
        engines=engines,
        worker_metrics_port=metrics_port,
    )
    if settings.worker_count <= 0:
        err.print("[red]cannot start[/red]: a worker needs at least one engine process (--slots 1 or more)")
        raise typer.Exit(2)
    _check_can_start(settings, run_workers=True)
    _run_worker(settings, announce=True)


def _run_worker(settings: Settings, *, announce: bool) -> None:
    """A worker until interrupted: lanes, janitor, no API."""
    from fitroom.api.dialects import DIALECTS
    from fitroom.runtime import Runtime

    async def main() -> None:
        runtime = await Runtime.start(settings, dialects=DIALECTS, run_workers=True)
        assert runtime.worker is not None
        if settings.worker_metrics_port is not None:
            from prometheus_client import start_http_server

            from fitroom.metrics import registry

            # No API here: the engine run times are served on a port of their own.
            start_http_server(settings.worker_metrics_port, settings.worker_metrics_host, registry=registry())
        if announce:
            lanes = ", ".join(
                f"{lane.engine.name} ({len(lane.plan.devices)} × {lane.plan.devices[0]})"
                for lane in runtime.worker.lanes
            )
            err.print(f"worker {runtime.worker.id} running lanes: {lanes or 'none'}; data: {settings.data_dir}")
        try:
            await asyncio.gather(*runtime.tasks)
        finally:
            await runtime.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


@app.command("engines")
def engines_list(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the engines, what they serve and need, and whether each is ready here."""
    from fitroom.engines import registry

    settings = _settings(data_dir=data_dir)
    infos = registry.describe(settings)
    if as_json:
        rows = [
            {
                "name": i.name,
                "kinds": [k.value for k in i.kinds],
                "device": i.device.value,
                "processes": list(i.devices),
                "max_batch": i.max_batch,
                "ready": i.ready,
                "missing": i.missing,
            }
            for i in infos
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table("engine", "kinds", "device", "processes here", "batch", "ready")
    for i in infos:
        processes = f"{len(i.devices)} × {i.devices[0]}" if i.devices else "–"
        ready = "yes" if i.ready else "no (below)"
        table.add_row(i.name, ", ".join(k.value for k in i.kinds), i.device.value, processes, str(i.max_batch), ready)
    Console(width=max(Console().width, 110)).print(table)  # full names even in a narrow pipe
    for i in infos:  # unwrapped, so that paths and commands can be copied
        if not i.ready:
            print(f"{i.name} is not ready: {i.missing}")


# --- keys ------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="A label for the key.")],
    credits: Annotated[int | None, typer.Option(help="Credit balance; omit for unlimited.")] = None,
    submit_rate: Annotated[int | None, typer.Option(help="Submits per period (default: server's).")] = None,
    poll_rate: Annotated[int | None, typer.Option(help="Polls per period (default: server's).")] = None,
    concurrency_limit: Annotated[
        int | None, typer.Option(help="Queued or running jobs at once (default: server's).")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key. The key is printed once, alone on the last line."""
    stores = _key_stores(_settings(data_dir=data_dir, database_url=database_url), create=True)
    try:
        key, raw = stores.keys.create(
            name,
            credits=credits,
            submit_rate=submit_rate,
            poll_rate=poll_rate,
            concurrency_limit=concurrency_limit,
        )
    finally:
        stores.close()
    balance = "unlimited" if key.credits is None else str(key.credits)
    print(f"Created key {key.id} ({key.name}, credits: {balance}). It is shown only now:")
    print(raw)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List keys (never their secrets)."""
    stores = _key_stores(_settings(data_dir=data_dir, database_url=database_url), create=False)
    try:
        keys = stores.keys.list()
    finally:
        stores.close()
    table = Table("id", "name", "credits", "created", "revoked")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            "unlimited" if k.credits is None else str(k.credits),
            k.created_at.isoformat(timespec="seconds"),
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="Key id or name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key: it answers 401 from now on."""
    stores = _key_stores(_settings(data_dir=data_dir, database_url=database_url), create=False)
    try:
        revoked = stores.keys.revoke(key)
    except KeyError:
        err.print(f"no key {key!r}")
        raise typer.Exit(1) from None
    finally:
        stores.close()
    print(f"Revoked key {revoked.id} ({revoked.name}).")


# --- offline engines -------------------------------------------------------------------


_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


@app.command()
def tryon(
    person: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Photo of the person.")],
    out: Annotated[Path, typer.Option(help="Where to write the result: .png, .jpg/.jpeg or .webp.")],
    garment: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Photo of a garment: a clothing try-on.")
    ] = None,
    glasses: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Photo of glasses (default: a built-in pair)."),
    ] = None,
    category: Annotated[Region, typer.Option(help="The body part the garment covers.")] = Region.AUTO,
    format: Annotated[
        OutputFormat | None, typer.Option(help="Image format of --out (default: from its suffix).")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Same inputs and seed give the same image.")] = 42,
    effort: Annotated[Effort, typer.Option(help="Speed against quality.")] = Effort.BALANCED,
    num_outputs: Annotated[int, typer.Option(min=1, max=5, help="Variants to write (out.png, out-1.png, ...).")] = 1,
    mask_only: Annotated[bool, typer.Option("--mask-only", help="Write only the try-on mask.")] = False,
    crop: Annotated[bool, typer.Option("--crop", help="Crop to 3:4 around the person.")] = False,
    remove_background: Annotated[bool, typer.Option("--remove-background", help="Put the result on white.")] = False,
    engine: Annotated[str | None, typer.Option(help="Engine name (default: the kind's; see: fitroom engines).")] = None,
) -> None:
    """Run one try-on without a server: with --garment a clothing try-on, otherwise a
    glasses try-on with --glasses (or the built-in default pair when it is omitted)."""
    from fitroom.engines import registry
    from fitroom.engines.base import EngineRequest
    from fitroom.errors import FitroomError
    from fitroom.images.decode import decode
    from fitroom.images.encode import encode
    from fitroom.images.limits import ImageLimits
    from fitroom.logs import quiet_native_logs
    from fitroom.options import JobKind, TryOnOptions

    if garment is not None and glasses is not None:
        err.print("[red]invalid options[/red]: give --garment or --glasses, not both")
        raise typer.Exit(2)
    by_suffix = _SUFFIXES.get(out.suffix.lower())
    if by_suffix is None:
        err.print(f"[red]invalid --out[/red]: {out.name} must end in .png, .jpg, .jpeg or .webp")
        raise typer.Exit(2)
    if format is not None and format.value != by_suffix:
        err.print(
            f"[red]invalid --format[/red]: {format.value} does not match {out.name}; drop --format or rename --out"
        )
        raise typer.Exit(2)
    fmt = OutputFormat(by_suffix)
    kind = JobKind.CLOTHING if garment is not None else JobKind.GLASSES
    limits = ImageLimits(max_bytes=1 << 30, min_side=1, max_side=None, formats=None, keep_alpha=True)
    settings = Settings()
    try:
        photo = decode(person.read_bytes(), limits, max_pixels=100_000_000, field="--person")
        images = {"person": photo.array[..., :3]}
        other = garment if kind is JobKind.CLOTHING else glasses
        if other is not None:
            name = "garment" if kind is JobKind.CLOTHING else "glasses"
            images[name] = decode(other.read_bytes(), limits, max_pixels=100_000_000, field=f"--{name}").array
        options = TryOnOptions(
            region=category,
            output_format=fmt,
            seed=seed,
            effort=effort,
            num_outputs=num_outputs,
            mask_only=mask_only,
            crop=crop,
            remove_background=remove_background,
        )
        name = engine or registry.default_name(kind, settings)
        with quiet_native_logs(not settings.engine_logs):
            result = registry.get(name, settings).run(EngineRequest(images=images, options=options))
    except FitroomError as exc:
        where = f"{exc.field}: " if exc.field else ""
        err.print(f"[red]{exc.code}[/red]: {where}{exc.message}")
        raise typer.Exit(1) from None
    written = []
    for index, array in enumerate(result.images):
        path = out if index == 0 else out.with_name(f"{out.stem}-{index}{out.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(array, fmt))
        written.append(str(path))
    print(json.dumps({"outputs": written, "metadata": result.metadata}, default=str, indent=2))


@app.command("eval")
def evaluate(
    persons: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Folder of person photos.")],
    out: Annotated[Path, typer.Option(help="Folder for the contact sheets and metrics JSON.")],
    garments: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="Folder of garment photos (upper/, lower/, dresses/ inside)."),
    ] = None,
    glasses: Annotated[
        Path | None, typer.Option(exists=True, file_okay=False, help="Folder of glasses photos.")
    ] = None,
) -> None:
    """Run every pair, write contact sheets and metrics (clothing and/or glasses)."""
    from fitroom.logs import quiet_native_logs

    if garments is None and glasses is None:
        err.print("[red]invalid options[/red]: give --garments DIR and/or --glasses DIR")
        raise typer.Exit(2)
    summary: dict[str, Any] = {}
    with quiet_native_logs(not Settings().engine_logs):
        if garments is not None:
            from fitroom.eval.clothing import run_clothing_eval

            summary["clothing"] = run_clothing_eval(persons, garments, out)
        if glasses is not None:
            from fitroom.eval.glasses import run_glasses_eval

            summary["glasses"] = run_glasses_eval(persons, glasses, out)
    json.dump(summary, sys.stdout, indent=2, default=str)
    print()


if __name__ == "__main__":  # pragma: no cover
    app()
