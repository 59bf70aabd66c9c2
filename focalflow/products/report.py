"""A static HTML report of a run: ``report/index.html``.

One self-contained page (inline CSS and JavaScript, images by relative links to
``../figures/``; nothing from the internet, no server): the run summary, the catalog figures,
a sortable table of the events and their mechanisms (click a column header, or open the page
as ``index.html#sort=mag`` / ``#sort=mag-desc`` with any column name), each event's
figures, and the skipped items. After loading, the page's script writes what it rendered into
``<body data-rows=… data-images-ok=… data-images-broken=…>`` (used by the headless browser
test, and handy to check a report from a script).
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.products.plots.catalog import CATALOG_FIGURES, quality_summary
from focalflow.workdir import WorkDir, safe_name, write_text_atomic

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
    ("quality", "Quality", "text"), ("fault_plane_uncertainty", "Uncert. (°)", ".0f"),
    ("polarity_misfit", "Misfit (%)", ".1f"), ("num_p_pol", "N pol.", ".0f"),
    ("sta_distribution_ratio", "STDR (%)", ".0f"), ("faulting_class", "Class", "text"),
]

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px 32px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.summary td { padding: 2px 14px 2px 0; } .muted { color: #777; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; }
.figures figure { margin: 0; max-width: 440px; } .figures img { width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
table.events { border-collapse: collapse; font-size: 0.85em; }
table.events th, table.events td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; }
table.events th { background: #f0f0f0; cursor: pointer; position: sticky; top: 0; user-select: none; }
table.events th.asc::after { content: " \\25B2"; } table.events th.desc::after { content: " \\25BC"; }
table.events td.text { text-align: left; } table.events tr:nth-child(even) { background: #fafafa; }
table.events img { height: 44px; }
.q-A { background: #d9f0d3; } .q-B { background: #e5f5e0; } .q-C { background: #fff7bc; }
.q-D { background: #fee391; } .q-E, .q-F { background: #fdd0a2; }
.event { margin: 1.2em 0; } .event img { max-height: 520px; max-width: 100%; border: 1px solid #ddd; }
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


def write_report(wd: WorkDir, catalog: pd.DataFrame, events: pd.DataFrame | None = None,
                 failures: pd.DataFrame | None = None, title: str | None = None,
                 max_event_sections: int = 500) -> Path:
    """Write ``report/index.html`` for the working directory ``wd``; returns its path.

    ``catalog`` has one row per event with a mechanism (derived columns included); events of
    ``events`` without a mechanism get a table row with blanks. Per-event figure sections are
    written for at most ``max_event_sections`` events (the table links all figures).
    """
    path = wd.report_dir / "index.html"
    relative = Path(os.path.relpath(wd.figures_dir, wd.report_dir))
    rows = _table_rows(catalog, events)
    figures_exist = wd.figures_dir.is_dir()
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title or 'focalflow report')}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title or 'focalflow focal mechanisms')}</h1>",
        f'<p class="muted">Working directory: {html.escape(str(wd.root.name))}</p>',
        "<h2>Summary</h2>", _summary_html(catalog, events, failures),
    ]
    if figures_exist:
        parts.append("<h2>Catalog figures</h2><div class=\"figures\">")
        for key, name in CATALOG_FIGURES.items():
            if (wd.figures_dir / name).is_file():
                src = html.escape((relative / name).as_posix())
                parts.append(f'<figure><a href="{src}"><img src="{src}" alt="{key}"></a>'
                             f"<figcaption>{html.escape(CATALOG_CAPTIONS[key])}</figcaption>"
                             "</figure>")
        parts.append("</div>")
    parts += ["<h2>Events</h2>",
              f'<p class="muted">{len(rows)} events; click a column header to sort.</p>',
              _events_table(rows, wd, relative)]
    sections = [r for r in rows if r.get("has_mechanism")][:max_event_sections]
    if figures_exist and sections:
        parts.append("<h2>Event figures</h2>")
        for row in sections:
            folder = wd.event_figures_dir(row["event_id"])
            images = [f for f in ("beachball.png", "waveforms.png") if (folder / f).is_file()]
            if not images:
                continue
            anchor = html.escape(safe_name(row["event_id"]))
            parts.append(f'<div class="event" id="event-{anchor}"><h3>Event '
                         f'{html.escape(str(row["event_id"]))}</h3>')
            for name in images:
                src = html.escape((relative / safe_name(row["event_id"]) / name).as_posix())
                parts.append(f'<a href="{src}"><img loading="lazy" src="{src}" alt="{name}"></a>')
            parts.append("</div>")
    if failures is not None and len(failures):
        parts += ["<h2>Skipped items</h2>", _failures_html(failures)]
    parts += [f"<script>{SCRIPT}</script>", "</body></html>"]
    write_text_atomic(path, "\n".join(parts) + "\n")
    return path


def _table_rows(catalog: pd.DataFrame, events: pd.DataFrame | None) -> list[dict]:
    rows = [{**r, "has_mechanism": True} for r in catalog.to_dict("records")]
    have = {str(r["event_id"]) for r in rows}
    if events is not None:
        for event in events.to_dict("records"):
            if str(event["event_id"]) not in have:
                rows.append({"event_id": str(event["event_id"]), "time": event.get("time", ""),
                             "origin_lat": event.get("latitude"),
                             "origin_lon": event.get("longitude"),
                             "origin_depth_km": event.get("depth"), "mag": event.get("mag"),
                             "has_mechanism": False})
    return rows


def _cell(value, fmt: str) -> tuple[str, str]:
    """(display text, sort key) of one table cell."""
    if fmt in ("text", "time"):
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        return (text.replace("T", " ").rstrip("Z")[:22] if fmt == "time" else text), text
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(number):
        return "", ""
    return format(float(number), fmt), repr(float(number))


def _events_table(rows: list[dict], wd: WorkDir, relative: Path) -> str:
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
            if column == "event_id" and row.get("has_mechanism"):
                text_html = (f'<a href="#event-{html.escape(safe_name(text))}">'
                             f"{html.escape(text)}</a>")
            else:
                text_html = html.escape(text)
            cells.append(f'<td class="{css.strip()}" data-sort="{html.escape(key)}">{text_html}</td>')
        thumb = ""
        name = safe_name(str(row["event_id"]))
        if row.get("has_mechanism") and (wd.event_figures_dir(name) / "beachball.png").is_file():
            src = html.escape((relative / name / "beachball.png").as_posix())
            thumb = f'<a href="{src}"><img loading="lazy" src="{src}" alt="beachball"></a>'
        cells.append(f'<td data-sort="">{thumb}</td>')
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
