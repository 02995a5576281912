"""Makes the files a recipient previews in the browser tests: a 4-second VP8 WebM (with cues,
so it seeks), a PNG and a one-page PDF. Usage: media.py DIR"""

import os
import struct
import sys
import zlib

import av


def video(path, seconds=10, fps=10, width=640, height=360):
    """Noise, so that it is megabytes: a browser fetches the part it seeks to with Range."""
    with av.open(path, "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 6_000_000
        stream.options = {"g": str(fps)}  # a keyframe every second: seeks land anywhere
        for _ in range(seconds * fps):
            frame = av.VideoFrame(width, height, "rgb24")
            frame.planes[0].update(os.urandom(width * height * 3))
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def png(path, width=64, height=48):
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 4, y * 5, 200)) for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def pdf(path):
    text = b"BT /F1 24 Tf 72 720 Td (A shared PDF) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    folder = sys.argv[1]
    video(f"{folder}/clip.webm")
    png(f"{folder}/picture.png")
    pdf(f"{folder}/doc.pdf")
