"""Text drawn as images from a glyph atlas: each character of a monospaced font is rendered
once, and a line of text is the row of its characters' bitmaps.

Per-event figures write a few thousand characters each (station rows, numbers on the ball);
through matplotlib's text engine every character is laid out and rendered by FreeType again,
about 0.1 ms apiece, which alone would exceed a figure's whole budget. Here a line costs a
NumPy gather. The font is matplotlib's own DejaVu Sans Mono, so the figures look the same on
every machine.
"""
from __future__ import annotations

import functools

import numpy as np
from matplotlib import font_manager
from matplotlib.colors import to_rgb
from matplotlib.ft2font import FT2Font

CHARACTERS = "".join(chr(c) for c in range(32, 127)) + "°·–±×−"


class GlyphAtlas:
    """The characters of :data:`CHARACTERS` in DejaVu Sans Mono at ``size_pt`` and ``dpi``, as
    cells of ``height`` x ``advance`` pixels (8-bit coverage, baseline at ``ascent``);
    characters outside the set show as "?"."""

    def __init__(self, size_pt: float, dpi: float, bold: bool = False):
        family = font_manager.FontProperties(family="DejaVu Sans Mono",
                                             weight="bold" if bold else "normal")
        font = FT2Font(font_manager.findfont(family))
        font.set_size(size_pt, dpi)
        scale = size_pt * dpi / 72.0 / font.units_per_EM
        self.ascent = int(np.ceil(font.ascender * scale))
        self.height = self.ascent + int(np.ceil(-font.descender * scale)) + 1
        self.advance = int(round(font.load_char(ord("M")).linearHoriAdvance / 65536))
        self.cells = np.zeros((len(CHARACTERS), self.height, self.advance), np.uint8)
        for k, char in enumerate(CHARACTERS):
            left = int(round(font.load_char(ord(char)).horiBearingX / 64))
            font.set_text(char)
            font.draw_glyphs_to_bitmap(antialiased=True)
            image = np.asarray(font.get_image())
            top = self.ascent - (image.shape[0] - int(round(font.get_descent() / 64)))
            rows = slice(max(top, 0), min(top + image.shape[0], self.height))
            cols = slice(max(left, 0), min(left + image.shape[1], self.advance))
            self.cells[k, rows, cols] = image[rows.start - top:rows.stop - top,
                                              cols.start - left:cols.stop - left]
        self._index = {char: k for k, char in enumerate(CHARACTERS)}
        self._unknown = self._index["?"]

    def line(self, text: str) -> np.ndarray:
        """Coverage (height, advance x len(text)) of one line."""
        index = np.fromiter((self._index.get(c, self._unknown) for c in text), np.int64,
                            len(text))
        return self.cells[index].transpose(1, 0, 2).reshape(self.height, -1)

    def width(self, text: str) -> int:
        return self.advance * len(text)


@functools.lru_cache(maxsize=8)
def atlas(size_pt: float, dpi: float, bold: bool = False) -> GlyphAtlas:
    return GlyphAtlas(size_pt, dpi, bold)


class TextLayer:
    """Lines of text written onto an RGB image (height, width, 3; uint8; top row first), each
    in its own colour, blended by the glyphs' coverage."""

    def __init__(self, rgb: np.ndarray):
        self.rgb = rgb

    def put(self, glyphs: GlyphAtlas, text: str, x: float, y: float, color="black",
            ha: str = "left", va: str = "center") -> tuple[int, int, int, int]:
        """Write ``text`` with its anchor (``ha`` left/center/right, ``va`` top/center/bottom)
        at pixel (x, y) from the top left; returns its box (x0, y0, x1, y1)."""
        if not text:
            return (0, 0, 0, 0)
        coverage = glyphs.line(text)
        h, w = coverage.shape
        x0 = int(round(x - {"left": 0, "center": w / 2, "right": w}[ha]))
        y0 = int(round(y - {"top": 0, "center": h / 2, "bottom": h}[va]))
        H, W = self.rgb.shape[:2]
        xs, ys = slice(max(x0, 0), min(x0 + w, W)), slice(max(y0, 0), min(y0 + h, H))
        if xs.start < xs.stop and ys.start < ys.stop:
            # rows of (R, G, B) bytes as flat rows: NumPy's loops then run the whole row, not
            # 3 values at a time (2.5x faster)
            target = self.rgb[ys, xs]
            rows, width = target.shape[0], target.shape[1]
            alpha = np.repeat(coverage[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0],
                              3, axis=1).astype(np.uint16)
            blend = target.reshape(rows, 3 * width) * (255 - alpha)
            blend += np.tile(_ink(color), width) * alpha
            blend += 127
            blend //= 255
            target[...] = blend.reshape(target.shape)
        return (x0, y0, x0 + w, y0 + h)


@functools.lru_cache(maxsize=32)
def _ink(color) -> np.ndarray:
    """0-255 (R, G, B) of a matplotlib colour (a name, hex string or tuple)."""
    return np.array([round(255 * c) for c in to_rgb(color)], np.uint16)
