"""Export of a page range from the real viewer (``DossierViewer.export_pages``): time and
peak resident memory (VmHWM, reset just before), each case in a fresh process (tracemalloc
would miss Pillow's page buffers: they are allocated in C, outside Python's allocator).

``landrec bench dossier --export-pages N`` runs it; by hand:
``python -m app.bench.dossier_export SCAN.tif N pdf|tif`` prints one JSON line. The scan is
written page by page (app.dossier.output), so generating it does not hold the pages either.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_scan(path: Path, pages: int, dpi: int = 300, speckle: float = 0.003) -> Path:
    from app.dossier import output, samples

    output.write_pages(
        path, pages, (samples.page_image(i, dpi, speckle=speckle) for i in range(pages)), tiff=True
    )
    return path


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: a bound


def _reset_peak() -> None:
    # Linux: "5" resets VmHWM to the current RSS, so the peak is the export's own.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child(scan: Path, pages: int, fmt: str) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.dossier import formats
    from app.dossier.viewer_model import ViewerModel
    from plugins.dossier.views import DossierViewer

    app = QApplication.instance() or QApplication([])
    data = scan.read_bytes()
    v = DossierViewer("vi", cache=None)
    doc = formats.open_document(data, formats.TIFF, scan.name)
    v.doc = doc  # no widget shown: only the output path is measured
    model = ViewerModel(page_count=doc.page_count, rotation=90, contrast=20)
    with tempfile.TemporaryDirectory(prefix="landrec-bench-export-") as tmp:
        _reset_peak()
        base = _status_mb("VmRSS")
        t0 = time.perf_counter()
        out = v.export_pages(list(range(pages)), Path(tmp) / f"out.{fmt}", doc=doc, model=model)
        took = time.perf_counter() - t0
        size = out.stat().st_size
    peak = _status_mb("VmHWM")
    doc.close()
    del app
    return {"fmt": fmt, "pages": pages, "s": took, "base_mb": base, "peak_mb": peak,
            "file_mb": size / 2**20}  # fmt: skip


def measure(pages: int, progress=print, repo: str | None = None) -> list[str]:
    """Rows for ``landrec bench dossier``: PDF and TIFF export of ``pages`` pages at 300 dpi
    (rotated, contrast +20). ``repo``: run another checkout's code (the old figures)."""
    lines = []
    with tempfile.TemporaryDirectory(prefix="landrec-bench-scan-") as tmp:
        progress(f"generating a {pages}-page 300 dpi G4 TIFF for the export rows …")
        scan = make_scan(Path(tmp) / "scan.tif", pages)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        cwd = repo or str(Path(__file__).resolve().parents[2])
        for fmt in ("pdf", "tif"):
            res = subprocess.run(
                [sys.executable, "-m", "app.bench.dossier_export", str(scan), str(pages), fmt],
                capture_output=True, text=True, env=env, cwd=cwd, check=True,
            )  # fmt: skip
            r = json.loads(res.stdout.strip().splitlines()[-1])
            lines.append(
                f"export {pages} pages at 300 dpi to {fmt.upper():<4} {r['s']:>6.1f} s, peak RSS "
                f"{r['peak_mb']:>6.0f} MB (+{r['peak_mb'] - r['base_mb']:.0f} MB over the "
                f"open file), {r['file_mb']:.1f} MB written"
            )
            progress(lines[-1])
    return lines


if __name__ == "__main__":
    scan_path, n, kind = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print(json.dumps(child(scan_path, n, kind)), flush=True)
