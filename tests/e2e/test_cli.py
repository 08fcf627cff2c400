"""The `fitroom` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import httpx
from PIL import Image

from tests.helpers import (
    astronaut,
    drawn_tshirt,
    encode,
    fitroom_bin,
    free_port,
    server_log,
    start_server,
)
from tests.s3_server import environment, s3_server


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fitroom_bin(), *args], capture_output=True, text=True, timeout=120)


def test_keys_create_prints_the_key_alone_on_the_last_line_and_it_works(tmp_path):
    data = str(tmp_path / "d")
    created = run("keys", "create", "--name", "shop", "--credits", "5", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("fr_") and " " not in key

    listed = run("keys", "list", "--data-dir", data)
    assert "shop" in listed.stdout and key not in listed.stdout  # secrets never listed

    port = free_port()
    server = start_server(tmp_path / "d", port)
    try:
        url = f"http://127.0.0.1:{port}/v1/try-on/job/{'0' * 32}"
        assert httpx.get(url, headers={"X-API-KEY": key}).status_code == 404  # authenticated
        assert httpx.get(url, headers={"X-API-KEY": "fr_nope"}).status_code == 401
        revoked = run("keys", "revoke", "shop", "--data-dir", data)
        assert revoked.returncode == 0, revoked.stderr
        # A verified key is trusted for one second (polls skip the store), so the
        # revocation must hold from then on, not necessarily on the very next request.
        time.sleep(1.1)
        assert httpx.get(url, headers={"X-API-KEY": key}).status_code == 401
    finally:
        server.kill()
        server.wait()


def test_serve_on_an_empty_data_dir_prints_url_docs_and_a_working_key(tmp_path):
    port = free_port()
    server = start_server(tmp_path / "fresh", port)
    try:
        server.terminate()
        server.wait(timeout=30)
    finally:
        server.kill()
    output = server_log(tmp_path / "fresh", port).read_text()
    assert f"http://127.0.0.1:{port}" in output
    assert f"http://127.0.0.1:{port}/docs" in output
    line = next(text for text in output.splitlines() if "FITROOM_KEY=" in text)
    key = line.split("FITROOM_KEY=", 1)[1].strip()
    # The printed key is stored: a second start creates no new one and the key works.
    port = free_port()
    server = start_server(tmp_path / "fresh", port)
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/v1/try-on/job/{'0' * 32}", headers={"X-API-KEY": key})
        assert r.status_code == 404, r.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "FITROOM_KEY=" not in server_log(tmp_path / "fresh", port).read_text()


def test_tryon_glasses_default_pair_writes_an_image(tmp_path):
    person = tmp_path / "person.png"
    person.write_bytes(encode(astronaut()))
    out = tmp_path / "out.jpg"
    result = run("tryon", "--person", str(person), "--out", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (512, 512)


def test_tryon_reports_a_named_error_for_an_image_without_a_face(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 400), (120, 160, 200)).save(blank)
    result = run("tryon", "--person", str(blank), "--out", str(tmp_path / "o.png"))
    assert result.returncode == 1
    assert "no_face_found" in result.stderr


def test_eval_writes_contact_sheets_and_metrics_for_clothing_and_glasses(tmp_path):
    import json

    persons, garments, glasses, out = (tmp_path / n for n in ("persons", "garments", "glasses", "out"))
    for folder in (persons, garments / "upper", glasses):
        folder.mkdir(parents=True)
    (persons / "astronaut.png").write_bytes(encode(astronaut()))

    (garments / "upper" / "tshirt.png").write_bytes(encode(drawn_tshirt()))
    pair = Image.new("RGBA", (600, 300), (0, 0, 0, 0))
    from PIL import ImageDraw

    draw = ImageDraw.Draw(pair)
    for left in (60, 340):
        draw.ellipse((left, 70, left + 200, 230), outline=(10, 10, 10, 255), width=14)
    draw.line((260, 130, 340, 130), fill=(10, 10, 10, 255), width=12)
    pair.save(glasses / "round.png")

    result = run(
        "eval", "--persons", str(persons), "--garments", str(garments), "--glasses", str(glasses),
        "--out", str(out),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert set(summary) == {"clothing", "glasses"}
    # the old garment's residue is measured on every top, with a picture of where it shows
    (pair_record,) = [json.loads(p.read_text()) for p in (out / "pairs").glob("*__*.json")]
    assert 0.0 <= pair_record["residue"] <= 1.0
    assert summary["clothing"]["median_residue_upper_full"] == pair_record["residue"]
    sheets = sorted(p.name for p in out.rglob("*.png"))
    assert any("sheet" in name for name in sheets), sheets
    for sheet in out.glob("*sheet*.png"):
        with Image.open(sheet) as img:  # at least two cells side by side: input and result
            assert img.width > 1.5 * img.height / 2 and img.height > 100
    assert list(out.glob("*.json")), "no metrics JSON written"


def test_engines_lists_the_cpu_engines_as_ready_with_their_facts(tmp_path):
    listed = run("engines", "--json", "--data-dir", str(tmp_path))
    assert listed.returncode == 0, listed.stderr
    engines = {e["name"]: e for e in json.loads(listed.stdout)}
    expected = {
        "cpu-clothing": ["clothing"],
        "cpu-glasses": ["glasses"],
        "cpu-cutout": ["background_remove"],
    }
    for name, kinds in expected.items():
        engine = engines[name]
        assert engine["kinds"] == kinds
        assert engine["ready"] is True and engine["missing"] is None
        assert engine["device"] == "cpu"
        assert engine["processes"] and set(engine["processes"]) == {"cpu"}
        assert engine["max_batch"] == 1

    table = run("engines", "--data-dir", str(tmp_path))
    assert table.returncode == 0, table.stderr
    for name in expected:
        assert name in table.stdout
    assert "yes" in table.stdout


def test_a_lane_whose_engine_is_not_ready_refuses_to_start_and_says_why(tmp_path):
    env = {**os.environ, "FITROOM_ENGINE_MODULES": "fitroom.engines.testing.engine"}
    worker = subprocess.run(
        [fitroom_bin(), "worker", "--engines", "test-unready", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert worker.returncode == 1
    assert "test-unready cannot run on this machine" in worker.stderr
    assert "never-there.bin is missing" in worker.stderr
    assert "Traceback" not in worker.stderr

    unknown = run("worker", "--engines", "no-such-engine", "--data-dir", str(tmp_path))
    assert unknown.returncode == 1
    assert "no engine named 'no-such-engine'" in unknown.stderr


def test_serve_refuses_a_route_to_an_engine_that_cannot_serve_it(tmp_path):
    bad_kind = run("serve", "--route", "glasses=cpu-clothing", "--data-dir", str(tmp_path), "--port", str(free_port()))
    assert bad_kind.returncode == 1
    assert "cpu-clothing serves clothing jobs, not glasses" in bad_kind.stderr
    bad_dialect = run("serve", "--route", "acme:clothing=cpu-clothing", "--data-dir", str(tmp_path))
    assert bad_dialect.returncode == 1
    assert "'acme' is not a dialect" in bad_dialect.stderr


def test_bad_settings_and_unusable_storage_stop_serve_and_worker_in_one_line(tmp_path):
    data = ["--data-dir", str(tmp_path), "--port", str(free_port())]
    env = {**os.environ, "FITROOM_WORKERS": "lots"}
    typo = subprocess.run([fitroom_bin(), "serve", *data], capture_output=True, text=True, timeout=120, env=env)
    assert typo.returncode == 2
    assert "bad setting: FITROOM_WORKERS: Input should be a valid integer" in typo.stderr
    assert "'lots'" in typo.stderr and "Traceback" not in typo.stderr

    form = run("worker", "--storage-url", "s3:///prefix", "--data-dir", str(tmp_path))
    assert form.returncode == 2
    assert "FITROOM_STORAGE_URL: expected file:///path or s3://bucket/prefix (given: 's3:///prefix')" in form.stderr
    presigned = subprocess.run(
        [fitroom_bin(), "serve", *data],
        capture_output=True, text=True, timeout=120, env={**os.environ, "FITROOM_RESULT_URLS": "presigned"},
    )  # fmt: skip
    assert presigned.returncode == 2
    assert "FITROOM_RESULT_URLS=presigned needs FITROOM_STORAGE_URL=s3://bucket/prefix" in presigned.stderr

    with s3_server() as endpoint:
        s3_env = {**os.environ, **environment(endpoint)}
        for command in ("serve", "worker"):
            missing = subprocess.run(
                [fitroom_bin(), command, "--storage-url", "s3://no-such-bucket/x", "--data-dir", str(tmp_path)],
                capture_output=True, text=True, timeout=120, env=s3_env,
            )  # fmt: skip
            assert missing.returncode == 1, missing.stderr
            assert f"cannot start: bucket 'no-such-bucket' at {endpoint}: no such bucket: create it first" in (
                missing.stderr
            )


def test_version_and_every_option_has_help() -> None:
    import typer.main

    from fitroom import __version__
    from fitroom.cli import app

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"fitroom {__version__}"
    group = typer.main.get_command(app)
    commands = [(name, cmd) for name, cmd in group.commands.items()]  # type: ignore[attr-defined]
    commands += [(f"keys {name}", cmd) for name, cmd in group.commands["keys"].commands.items()]  # type: ignore[attr-defined]
    for name, command in commands:
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert getattr(param, "help", None), f"fitroom {name} --{param.name} has no help text"
    # Brackets in help text were eaten as markup ("Bind address ."): the env names show.
    assert "Bind address (env FITROOM_HOST)." in run("serve", "--help").stdout


def test_keys_say_which_data_dir_and_do_not_create_one_by_mistake(tmp_path) -> None:
    missing = tmp_path / "typo"
    listed = run("keys", "list", "--data-dir", str(missing))
    assert listed.returncode == 1
    assert f"no Fitroom data in {missing}" in listed.stderr and not missing.exists()
    revoked = run("keys", "revoke", "x", "--data-dir", str(missing))
    assert revoked.returncode == 1 and not missing.exists()

    created = run("keys", "create", "--name", "first", "--data-dir", str(missing))
    assert created.returncode == 0, created.stderr
    assert f"Data directory: {missing} (new: created now)" in created.stderr
    listed = run("keys", "list", "--data-dir", str(missing))
    assert listed.returncode == 0 and f"Data directory: {missing}" in listed.stderr and "first" in listed.stdout


def test_tryon_option_errors_are_one_sentence_and_outputs_match_their_names(tmp_path) -> None:
    person, garment = tmp_path / "p.png", tmp_path / "g.png"
    person.write_bytes(encode(astronaut()))
    garment.write_bytes(encode(drawn_tshirt()))
    base = ("tryon", "--person", str(person), "--garment", str(garment))

    shoes = run(*base, "--out", str(tmp_path / "o.png"), "--category", "shoes")
    assert shoes.returncode == 2
    message = " ".join(shoes.stderr.replace("│", " ").split())
    assert "'shoes' is not one of 'upper', 'lower', 'full', 'outerwear', 'auto'" in message
    assert "pydantic" not in shoes.stderr and "Traceback" not in shoes.stderr

    gif = run(*base, "--out", str(tmp_path / "o.gif"))
    assert gif.returncode == 2 and "o.gif must end in .png, .jpg, .jpeg or .webp" in gif.stderr
    mismatch = run(*base, "--out", str(tmp_path / "o.png"), "--format", "jpeg")
    assert mismatch.returncode == 2 and "does not match o.png" in mismatch.stderr

    webp = run(*base, "--out", str(tmp_path / "o.webp"))
    assert webp.returncode == 0, webp.stderr
    assert Image.open(tmp_path / "o.webp").format == "WEBP"
    # MediaPipe's and TensorFlow Lite's own log lines are hidden unless asked for.
    assert "XNNPACK" not in webp.stderr and "W0000" not in webp.stderr and "absl" not in webp.stderr
