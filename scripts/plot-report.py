"""Turns a quant-compile --report JSON into a PNG: one horizontal bar per
layer, its length the SQNR in dB (the number printed at its end), blue for
weight-only layers and orange for w8a8, a grey rule every 10 dB. Layer names
are long, so bars carry their index; the index-to-name legend is printed.

plot-report.py REPORT.json OUT.png

Only numpy and zlib: the PNG is drawn pixel by pixel with a built-in 3x5
digit font, so no plotting package is needed.
"""
import json
import struct
import sys
import zlib

import numpy as np

# 3x5 glyphs for the characters the chart prints.
FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    " ": "000000000000000", "d": "001001111101111", "B": "110101110101110",
}
SCALE = 2  # pixels per font dot
COLORS = {"weight-only": (66, 120, 200), "w8a8": (230, 140, 40)}


def text(img, x, y, s, color=(0, 0, 0)):
    for ch in s:
        glyph = FONT.get(ch, FONT[" "])
        for i, bit in enumerate(glyph):
            if bit == "1":
                r, c = divmod(i, 3)
                img[y + r * SCALE:y + (r + 1) * SCALE, x + c * SCALE:x + (c + 1) * SCALE] = color
        x += 4 * SCALE
    return x


def write_png(path, img):
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[r].astype(np.uint8).tobytes() for r in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot-report.py REPORT.json OUT.png")
    try:
        report = json.load(open(sys.argv[1]))
        layers = [l for l in report["layers"] if "sqnr_db" in l]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"plot-report: '{sys.argv[1]}' is not a quant-compile report: {e}")
    if not layers:
        sys.exit("plot-report: the report has no measured layers")
    bar_h, gap, left, right = 14, 6, 40, 90
    top_db = max(10.0, np.ceil(max(l["sqnr_db"] for l in layers) / 10) * 10)
    width = 640
    plot_w = width - left - right
    height = gap + len(layers) * (bar_h + gap) + 24
    img = np.full((height, width, 3), 255, np.uint8)
    for db in np.arange(0, top_db + 1, 10):  # rules and their labels
        x = left + int(plot_w * db / top_db)
        img[gap:height - 20, x] = (200, 200, 200)
        text(img, x - 4, height - 16, f"{int(db)}")
    for i, l in enumerate(layers):
        y = gap + i * (bar_h + gap)
        text(img, 4, y + 2, str(i))
        end = left + int(plot_w * max(0.0, l["sqnr_db"]) / top_db)
        img[y:y + bar_h, left:max(left + 1, end)] = COLORS.get(l["kind"], (120, 120, 120))
        text(img, end + 4, y + 2, f"{l['sqnr_db']:.1f}dB")
        print(f"{i:3d} {l['name']}  {l['kind']} {l['bits']}-bit  SQNR {l['sqnr_db']:.2f} dB"
              f"  cosine {l['cosine']:.5f}")
    write_png(sys.argv[2], img)
    print(f"wrote {sys.argv[2]} ({report.get('scheme', '?')}, {len(layers)} layers)")


if __name__ == "__main__":
    main()
