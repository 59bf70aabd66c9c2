"""A static HTML report of a run: ``report/index.html``.

One page with everything inline (CSS, JavaScript, the table's beachballs as SVG) and its
images copied into ``report/figures/`` (hard links where the file system allows, so no disk
is spent), so the ``report`` folder can be moved, mailed or served on its own; nothing comes
from the internet. It shows the run summary, the catalog figures, a sortable table of the
events and their mechanisms (click a column header, or open the page as
``index.html#sort=mag`` / ``#sort=mag-desc`` with any column name) with a small beachball and
the multiple-solution flag, each event's figure (the beachball beside its P waveforms, every
solution when HASH found several), and the skipped items. After loading, the page's script
writes what it rendered into ``<body data-rows=… data-images-ok=… data-images-broken=…>``
(used by the headless browser test, and handy to check a report from a script).
"""
from __future__ import annotations

import html
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.mechanisms.classify import CLASS_COLORS
from focalflow.products.plots.beachball import beachball_svg
from focalflow.products.plots.catalog import CATALOG_FIGURES, quality_summary
from focalflow.products.plots.event import has_multiple_solutions
from focalflow.workdir import WorkDir, atomic_path, safe_name, write_text_atomic

CATALOG_CAPTIONS = {
    "map": "Mechanisms sized by magnitude and coloured by faulting class; triangles: stations.",
    "ternary": "Frohlich (1992) triangle: classes by the plunges of the P, T and B axes.",
    "magnitudes": "Magnitude histogram and cumulative number of events.",
    "orientations": "Strike, dip, rake and P/T axes against origin time.",
    "roses": "Rose diagrams of strikes, rakes and P/T axis trends.",
    "quality": "Quality letters, uncertainties and polarity misfits.",
}

TABLE_COLUMNS = [  # (column, header, format)
    ("event_id", "Event", "text"), ("time", "Origin time (UTC)", "time"),
    ("origin_lat", "Lat (°)", ".4f"), ("origin_lon", "Lon (°)", ".4f"),
    ("origin_depth_km", "Depth (km)", ".2f"), ("mag", "Mag", ".1f"),
    ("strike", "Strike", ".0f"), ("dip", "Dip", ".0f"), ("rake", "Rake", ".0f"),
    ("strike2", "Strike 2", ".0f"), ("dip2", "Dip 2", ".0f"), ("rake2", "Rake 2", ".0f"),
    ("quality", "Quality", "text"), ("solutions", "Solutions", ".0f"),
    ("fault_plane_uncertainty", "Uncert. (°)", ".0f"),
    ("polarity_misfit", "Misfit (%)", ".1f"), ("num_p_pol", "N pol.", ".0f"),
    ("sta_distribution_ratio", "STDR (%)", ".0f"), ("faulting_class", "Class", "text"),
]

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px 32px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.summary td { padding: 2px 14px 2px 0; } .muted { color: #777; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 22px; }
.figures figure { margin: 0; } .figures figure.wide { grid-column: 1 / -1; max-width: 1400px; } .figures img { width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
table.events { border-collapse: collapse; font-size: 0.85em; }
table.events th, table.events td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; }
table.events th { background: #f0f0f0; cursor: pointer; position: sticky; top: 0; user-select: none; }
table.events th.asc::after { content: " \\25B2"; } table.events th.desc::after { content: " \\25BC"; }
table.events td.text { text-align: left; } table.events tr:nth-child(even) { background: #fafafa; }
table.events td.ball { padding: 1px 4px; text-align: center; } svg.ball { vertical-align: middle; }
td.multiple { font-weight: bold; color: #8a4b00; }
.q-A { background: #d9f0d3; } .q-B { background: #e5f5e0; } .q-C { background: #fff7bc; }
.q-D { background: #fee391; } .q-E, .q-F { background: #fdd0a2; }
.event { margin: 1.6em 0; } .event img { width: 100%; max-width: 1500px; border: 1px solid #ddd; }
.event p { margin: 0.3em 0; }
table.plain { border-collapse: collapse; font-size: 0.85em; }
table.plain th, table.plain td { border: 1px solid #ddd; padding: 2px 6px; }
"""

SCRIPT = """
function sortTable(th) {
  const table = th.closest('table'), body = table.tBodies[0];
  const index = Array.from(th.parentNode.children).indexOf(th);
  const ascending = !th.classList.contains('asc');
  th.parentNode.querySelectorAll('th').forEach(h => h.classList.remove('asc', 'desc'));
  th.classList.add(ascending ? 'asc' : 'desc');
  const key = row => {
    const cell = row.children[index], value = cell.dataset.sort ?? cell.textContent.trim();
    const number = parseFloat(value);
    return value !== '' && !isNaN(number) && isFinite(value) ? number : value.toLowerCase();
  };
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === y) return 0;
    if (x === '') return 1; if (y === '') return -1;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return (x < y ? -1 : 1) * (ascending ? 1 : -1);
  });
  rows.forEach(row => body.appendChild(row));
}
document.querySelectorAll('table.events th').forEach(th => th.addEventListener('click', () => sortTable(th)));
// a link like index.html#sort=mag (or #sort=mag-desc) opens the table sorted by that column
const wanted = /^#sort=([\w]+?)(-desc)?$/.exec(location.hash);
const header = wanted && document.querySelector(`table.events th[data-column="${wanted[1]}"]`);
if (header) { sortTable(header); if (wanted[2]) sortTable(header); }
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const ok = images.filter(img => img.complete && img.naturalWidth > 0).length;
  document.body.dataset.rows = document.querySelectorAll('table.events tbody tr').length;
  document.body.dataset.imagesOk = ok;
  document.body.dataset.imagesBroken = images.length - ok;
});
"""


PAGE_ROWS = 2000  # events per table page: a browser sorts 2,000 rows at once, not 100,000


def write_report(wd: WorkDir, catalog: pd.DataFrame, events: pd.DataFrame | None = None,
                 failures: pd.DataFrame | None = None, title: str | None = None,
                 max_event_sections: int = 500,
                 solutions: pd.DataFrame | None = None) -> Path:
    """Write ``report/index.html`` for the working directory ``wd``; returns its path.

    ``catalog`` has one row per event with a mechanism (derived columns included); events of
    ``events`` without a mechanism get a table row with blanks; ``solutions`` (rows of
    mechanisms.csv) lists HASH's other solutions of multiple-solution events. The events
    table holds :data:`PAGE_ROWS` events a page: the first on ``index.html``, the next on
    ``events-2.html``, ``events-3.html``... (each page stands alone, with links to the
    others). Per-event figure sections are written for the events that have figures, at most
    ``max_event_sections``. The figures are copied into ``report/figures/``.
    """
    path = wd.report_dir / "index.html"
    by_event = _solutions_by_event(solutions)
    total = _row_count(catalog, events)
    pages = max(1, -(-total // PAGE_ROWS))
    images = _ReportImages(wd)
    heading = html.escape(title or "focalflow focal mechanisms")
    rows = _table_rows(catalog, events, by_event)
    first = [row for _, row in zip(range(PAGE_ROWS), rows)]
    parts = [
        _head(title or "focalflow report"),
        f"<h1>{heading}</h1>",
        f'<p class="muted">Working directory: {html.escape(str(wd.root.name))}</p>',
        "<h2>Summary</h2>", _summary_html(catalog, events, failures),
    ]
    catalog_figures = [(key, images.add(wd.figures_dir / name))
                       for key, name in CATALOG_FIGURES.items()]
    catalog_figures = [(key, src) for key, src in catalog_figures if src]
    if catalog_figures:
        parts.append('<h2>Catalog figures</h2><div class="figures">')
        for key, src in catalog_figures:
            wide = ' class="wide"' if key == "map" else ""
            parts.append(f'<figure{wide}><a href="{src}"><img src="{src}" alt="{key}"></a>'
                         f"<figcaption>{html.escape(CATALOG_CAPTIONS[key])}</figcaption>"
                         "</figure>")
        parts.append("</div>")
    parts += ['<h2 id="events">Events</h2>', _table_note(total, 1, len(first), pages),
              _events_table(first)]
    sections = []
    for row in _figure_rows(wd, catalog):
        if len(sections) >= max_event_sections:
            break
        section = _event_section(row, wd, images, by_event.get(str(row["event_id"])))
        sections += [section] if section else []
    if sections:
        parts += ["<h2>Event figures</h2>", *sections]
    if failures is not None and len(failures):
        parts += ["<h2>Skipped items</h2>", _failures_html(failures)]
    parts += [f"<script>{SCRIPT}</script>", "</body></html>"]
    write_text_atomic(path, "\n".join(parts) + "\n", if_changed=True)
    for page in range(2, pages + 1):
        chunk = [row for _, row in zip(range(PAGE_ROWS), rows)]
        start = (page - 1) * PAGE_ROWS + 1
        write_text_atomic(wd.report_dir / f"events-{page}.html", "\n".join([
            _head(f"{title or 'focalflow report'}: events {start}-{start + len(chunk) - 1}"),
            f"<h1>{heading}</h1>", '<p><a href="index.html">Summary and figures</a></p>',
            _table_note(total, page, len(chunk), pages), _events_table(chunk),
            f"<script>{SCRIPT}</script>", "</body></html>"]) + "\n", if_changed=True)
    for stale in wd.report_dir.glob("events-*.html"):
        if not stale.stem[7:].isdigit() or int(stale.stem[7:]) > pages:
            stale.unlink()
    return path


def _head(title: str) -> str:
    return ("<!DOCTYPE html>\n" '<html lang="en"><head><meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style></head><body>")


def _page_name(page: int) -> str:
    return "index.html#events" if page == 1 else f"events-{page}.html"


def _table_note(total: int, page: int, count: int, pages: int) -> str:
    start = (page - 1) * PAGE_ROWS + 1
    text = (f'<p class="muted">{total} events; click a column header to sort. Beachballs: '
            "lower hemisphere, equal area, compressional quadrants filled.")
    if pages > 1:
        links = " ".join(f"<b>{k}</b>" if k == page else
                         f'<a href="{_page_name(k)}">{k}</a>' for k in range(1, pages + 1))
        text += (f" This page: events {start}-{start + count - 1} (sorting sorts this page)."
                 f"</p><p>Pages: {links}")
    return text + "</p>"


def _row_count(catalog: pd.DataFrame, events: pd.DataFrame | None) -> int:
    if events is None:
        return len(catalog)
    have = set(catalog["event_id"].astype(str))
    return len(catalog) + int((~events["event_id"].astype(str).isin(have)).sum())


def _figure_rows(wd: WorkDir, catalog: pd.DataFrame):
    """Catalog rows of the events with figures, in catalog order."""
    if not wd.figures_dir.is_dir():
        return
    drawn = {p.name for p in wd.figures_dir.iterdir() if p.is_dir()}
    for row in _records(catalog):
        if safe_name(str(row["event_id"])) in drawn:
            yield {**row, "has_mechanism": True}


class _ReportImages:
    """Copies figures into ``report/figures/`` (same relative layout as ``figures/``) and
    returns the page's relative link; unchanged copies are kept."""

    def __init__(self, wd: WorkDir):
        self.source_root = wd.figures_dir
        self.target_root = wd.report_dir / "figures"

    def add(self, source: Path) -> str | None:
        """The link to ``source``'s copy, or None if ``source`` does not exist."""
        if not source.is_file():
            return None
        relative = source.relative_to(self.source_root)
        target = self.target_root / relative
        stat = source.stat()
        if not (target.is_file() and target.stat().st_size == stat.st_size
                and target.stat().st_mtime_ns >= stat.st_mtime_ns):
            _link_or_copy(source, target)
        return html.escape("figures/" + relative.as_posix())


def _link_or_copy(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` atomically: a hard link (no extra disk), or a copy where
    the file system cannot link (another device, no link support)."""
    with atomic_path(target) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copy2(source, tmp)


def _solutions_by_event(solutions: pd.DataFrame | None) -> dict[str, list[dict]]:
    if solutions is None or not len(solutions):
        return {}
    solved = solutions[pd.to_numeric(solutions["strike"], errors="coerce").notna()]
    return {str(k): g.to_dict("records")
            for k, g in solved.groupby(solved["event_id"].astype(str), sort=False)}


def _event_section(row: dict, wd: WorkDir, images: _ReportImages,
                   solutions: list[dict] | None) -> str:
    """One event's figure (the waveforms figure includes its beachball; the beachball alone
    where there are no waveforms) and its solutions."""
    folder = wd.event_figures_dir(row["event_id"])
    waveforms = images.add(folder / "waveforms.png")
    beachball = images.add(folder / "beachball.png")
    if not (waveforms or beachball):
        return ""
    event_id = str(row["event_id"])
    parts = [f'<div class="event" id="event-{html.escape(safe_name(event_id))}">'
             f"<h3>Event {html.escape(event_id)}</h3>"]
    if solutions and len(solutions) > 1:
        listed = "; ".join(f"{k + 1}: {float(s['strike']):.0f}/{float(s['dip']):.0f}/"
                           f"{float(s['rake']):.0f} quality {html.escape(str(s.get('quality', '')))}"
                           for k, s in enumerate(solutions))
        parts.append(f"<p><b>Multiple solutions</b> (HASH found {len(solutions)}; the first "
                     f"is drawn): {listed}</p>")
    shown = waveforms or beachball
    parts.append(f'<a href="{shown}"><img loading="lazy" src="{shown}" alt="event figure"></a>')
    if waveforms and beachball:
        parts.append(f'<p><a href="{beachball}">Beachball alone (PNG)</a></p>')
    parts.append("</div>")
    return "".join(parts)


def _records(frame: pd.DataFrame, size: int = 1000):
    """The rows of ``frame`` as dicts, a few at a time (a list of all would not fit)."""
    for start in range(0, len(frame), size):
        yield from frame.iloc[start:start + size].to_dict("records")


def _table_rows(catalog: pd.DataFrame, events: pd.DataFrame | None,
                solutions: dict[str, list[dict]]):
    """The table's rows, one at a time: events with a mechanism, then the others."""
    for row in _records(catalog):
        yield {**row, "has_mechanism": True,
               "solutions": len(solutions.get(str(row["event_id"]), [])) or 1}
    if events is not None:
        have = set(catalog["event_id"].astype(str))
        for event in _records(events):
            if str(event["event_id"]) not in have:
                yield {"event_id": str(event["event_id"]), "time": event.get("time", ""),
                       "origin_lat": event.get("latitude"),
                       "origin_lon": event.get("longitude"),
                       "origin_depth_km": event.get("depth"), "mag": event.get("mag"),
                       "has_mechanism": False}


def _cell(value, fmt: str) -> tuple[str, str]:
    """(display text, sort key) of one table cell."""
    if fmt in ("text", "time"):
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        return (text.replace("T", " ").rstrip("Z")[:22] if fmt == "time" else text), text
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "", ""
    if not math.isfinite(number):
        return "", ""
    return format(number, fmt), repr(number)


def _events_table(rows: list[dict]) -> str:
    head = "".join(f'<th data-column="{c}">{html.escape(h)}</th>' for c, h, _ in TABLE_COLUMNS) \
        + '<th data-column="beachball">Beachball</th>'
    body = []
    for row in rows:
        cells = []
        for column, _, fmt in TABLE_COLUMNS:
            text, key = _cell(row.get(column), fmt)
            css = "text" if fmt in ("text", "time") else ""
            if column == "quality" and text:
                css += f" q-{html.escape(text)}"
            if column == "solutions" and (has_multiple_solutions(row)
                                          or row.get("solutions", 1) > 1):
                css += " multiple"
                text = f"{text} (multiple)" if text != "1" else "multiple"
            if column == "event_id" and row.get("has_mechanism"):
                text_html = (f'<a href="#event-{html.escape(safe_name(text))}">'
                             f"{html.escape(text)}</a>")
            else:
                text_html = html.escape(text)
            cells.append(f'<td class="{css.strip()}" data-sort="{html.escape(key)}">{text_html}</td>')
        ball = ""
        if row.get("has_mechanism"):
            ball = beachball_svg(float(row["strike"]), float(row["dip"]), float(row["rake"]),
                                 size_px=34,
                                 color=CLASS_COLORS.get(row.get("faulting_class"), "#555555"))
        cells.append(f'<td class="ball" data-sort="">{ball}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="events"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _summary_html(catalog: pd.DataFrame, events: pd.DataFrame | None,
                  failures: pd.DataFrame | None) -> str:
    total = len(events) if events is not None else len(catalog)
    classes = catalog["faulting_class"].value_counts() if len(catalog) else pd.Series(dtype=int)
    items = [("Events", f"{total}"), ("Events with a mechanism", f"{len(catalog)}"),
             ("Faulting classes", ", ".join(f"{k} {int(v)}" for k, v in classes.items()) or "–"),
             ("Skipped items", f"{0 if failures is None else len(failures)}")]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                   for k, v in items)
    summary = quality_summary(catalog) if len(catalog) else pd.DataFrame()
    quality = ""
    if len(summary):
        header = ("<tr><th>Quality</th><th>Events</th><th>%</th><th>Median uncertainty (°)</th>"
                  "<th>Median misfit (%)</th><th>Median N pol.</th><th>Median STDR (%)</th></tr>")
        lines = []
        for r in summary.itertuples(index=False):
            values = [r.quality, f"{r.events}", f"{r.percent:.1f}"] + [
                "–" if not np.isfinite(v) else f"{v:.1f}" for v in
                (r.median_uncertainty_deg, r.median_misfit_percent, r.median_polarities,
                 r.median_sta_distribution_ratio)]
            lines.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>")
        quality = f'<table class="plain">{header}{"".join(lines)}</table>'
    return f'<table class="summary">{rows}</table><p></p>{quality}'


def _failures_html(failures: pd.DataFrame, limit: int = 300) -> str:
    head = "<tr><th>Stage</th><th>Event</th><th>Station</th><th>Reason</th></tr>"
    lines = ["<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>"
                              for c in ("stage", "event_id", "station", "reason")) + "</tr>"
             for r in failures.head(limit).to_dict("records")]
    more = (f'<p class="muted">… and {len(failures) - limit} more in logs/failures.csv</p>'
            if len(failures) > limit else "")
    return f'<table class="plain">{head}{"".join(lines)}</table>{more}'
