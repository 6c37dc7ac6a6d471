"""Pictures for the README and the user guide, from what `make demo` wrote.

    python -m scripts.make_screenshots [WORKSPACE]     # default outputs/demo; writes docs/images/*.png

Each picture is a page as the officer sees it printed: LibreOffice turns the file into PDF,
pdftoppm the chosen page into PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

# picture name -> (file under the workspace's outputs/, page number)
PAGES = {
    "bieu-mau-nhiem-vu": ("templates/2026S1/2026S1_03405_xa-ta-leng.xlsx", 3),
    "bieu-mau-chi-tieu": ("templates/2026S1/2026S1_03405_xa-ta-leng.xlsx", 4),
    "phan-hoi-ket-qua": ("2026S1/phan-hoi/2026S1_03390_xa-binh-lu_phan-hoi.xlsx", 1),
    "phan-hoi-o-can-sua": ("2026S1/phan-hoi/2026S1_03390_xa-binh-lu_phan-hoi.xlsx", 5),
    "bao-cao-trang-1": ("2026S1/bao-cao-6-thang-dau-nam-2026.docx", 1),
    "cong-van-don-doc": ("2026S1/cong-van-don-doc-2026S1.docx", 1),
}


def page_png(source: Path, page: int, target: Path, resolution: int = 70) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp / 'profile'}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(tmp), str(source)], check=True, capture_output=True)
        pdf = tmp / f"{source.stem}.pdf"
        subprocess.run(["pdftoppm", "-r", str(resolution), "-png", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(tmp / "page")], check=True)
        shutil.copyfile(tmp / "page.png", target)


def main() -> None:
    workspace = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "outputs" / "demo")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, (relative, page) in PAGES.items():
        target = IMAGES / f"{name}.png"
        page_png(workspace / "outputs" / relative, page, target)
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
