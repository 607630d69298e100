"""Issue 19: how fast, and in how much memory, the spreadsheet import refuses the two hostile
files of the security review — generated here (tests/security/hostile.py), not stored:

- a ~1.4 MB xlsx whose sheet unpacks to ~622 MiB of XML (a zip bomb);
- a ~4.7 MB xlsx with 200,000 data rows (under the 5 MB upload limit).

Each file is refused in a fresh child process (`spreadsheet.read_upload` in an app context,
the whole of the import's reading work); the child reports the wall time of the refusal, its
resident memory before the call and its peak (VmHWM) after. A third run lifts the zip-size
limits to show the streamed row cap alone on the 200,000-row file.

    .venv/bin/python -m benchmarks.bench_hostile_uploads
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from pathlib import Path

def vm(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0

from matchmaker import create_app
from matchmaker.enterprises import spreadsheet
if sys.argv[2] == "row-cap-only":
    spreadsheet.MAX_UNPACKED_BYTES = spreadsheet.MAX_PART_BYTES = 10**12
app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": "sqlite://"})
data = Path(sys.argv[1]).read_bytes()
with app.app_context():
    before = vm("VmRSS")
    started = time.perf_counter()
    try:
        spreadsheet.read_upload("hostile.xlsx", data)
        message = "ACCEPTED"
    except spreadsheet.SpreadsheetRejected as rejected:
        message = rejected.messages[0]
    elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "rss_before_mib": before, "peak_mib": vm("VmHWM"),
                  "message": message}, ensure_ascii=False))
"""


def refuse(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], check=True,
                         capture_output=True, text=True, env={**os.environ,
                                                              "MATCHMAKER_LOG_LEVEL": "ERROR"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mb", type=int, default=622)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    from tests.security import hostile

    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        started = time.perf_counter()
        bomb = Path(tmp, "bomb.xlsx")
        bomb.write_bytes(hostile.bomb(args.bomb_mb))
        rows = Path(tmp, "rows.xlsx")
        rows.write_bytes(hostile.many_rows(args.rows))
        print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        import zipfile
        for label, path, mode in ((f"zip bomb ({args.bomb_mb} MiB of XML)", bomb, "limits"),
                                  (f"{args.rows:,} rows", rows, "limits"),
                                  (f"{args.rows:,} rows, zip limits lifted", rows,
                                   "row-cap-only")):
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(e.file_size for e in archive.infolist())
            figures = refuse(path, mode)
            cases.append((label, path.stat().st_size, unpacked, figures))
        print(f"load average {os.getloadavg()[0]:.1f}, cpu_count {os.cpu_count()}")
        print(f"{'file':40} {'size':>8} {'unpacked':>10} {'refused in':>11} {'RSS before':>11} "
              f"{'peak RSS':>9}  message")
        for label, size, unpacked, f in cases:
            print(f"{label:40} {size / 1e6:6.2f}MB {unpacked / 2**20:8.1f}MiB "
                  f"{f['seconds']:9.3f} s {f['rss_before_mib']:7.0f} MiB {f['peak_mib']:5.0f} MiB"
                  f"  {f['message'][:40]}")


if __name__ == "__main__":
    main()
