"""Copy the four data sets into a git-ignored folder small enough to carry to a GPU machine.

The device tool carries at most 64 MiB per call; the PNG sets are ~65 MiB. RGB images are
re-encoded as JPEG quality 95 (grey images and every mask stay PNG, masks lossless), which
``tools.distill.data`` reads as they are.

    /usr/bin/python3 -m tools.distill.device.pack_data --src ../shared/data --dst .data
"""
import argparse
import shutil
from pathlib import Path

from PIL import Image

SETS = ("isic2017", "kvasir-seg", "hc18", "isbi2012-em")
LIMIT_MIB = 60


def pack(src: Path, dst: Path, sets=SETS, quality: int = 95) -> int:
    """Copies ``sets`` from ``src`` to ``dst``; returns the bytes written."""
    total = 0
    for name in sets:
        for f in sorted((src / name).rglob("*")):
            if f.is_dir():
                continue
            out = dst / name / f.relative_to(src / name)
            out.parent.mkdir(parents=True, exist_ok=True)
            if f.suffix == ".png" and f.parent.name == "images":
                im = Image.open(f)
                if im.mode in ("RGB", "RGBA", "P"):
                    out = out.with_suffix(".jpg")
                    im.convert("RGB").save(out, quality=quality, subsampling=0)
                else:
                    shutil.copyfile(f, out)
            else:
                shutil.copyfile(f, out)
            total += out.stat().st_size
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="../shared/data")
    ap.add_argument("--dst", default=".data")
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    args = ap.parse_args()
    dst = Path(args.dst)
    if dst.exists():
        shutil.rmtree(dst)
    total = pack(Path(args.src), dst, args.sets)
    print(f"packed {', '.join(args.sets)} into {dst}: {total / 2**20:.1f} MiB")
    if total > LIMIT_MIB * 2**20:
        raise SystemExit(f"over {LIMIT_MIB} MiB: pack fewer sets per call (--sets)")


if __name__ == "__main__":
    main()
