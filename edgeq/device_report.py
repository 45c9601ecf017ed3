"""The HTML page flash-and-test writes next to report.json: the run's figures, the per-layer
profile as a bar chart (``--profile``), saturation telemetry (``--telemetry``)."""

from __future__ import annotations

from pathlib import Path

from .artifacts import write_text_atomic


def render_device_html(report: dict) -> str:
    import jinja2

    from .resources import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template("device_report.html.j2").render(r=report)


def write_device_html(path: Path, report: dict) -> Path:
    write_text_atomic(Path(path), render_device_html(report))
    return Path(path)
