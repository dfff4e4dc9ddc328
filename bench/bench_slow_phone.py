"""Slow phones (issue 14): the door scanner in Chromium with a 4x throttled CPU and a slow-3G network.

    python -m bench.bench_slow_phone --engine sqlite|postgresql|both [--codes 110] [--hold 8] [--quick]

Per engine, against gunicorn (2 sync workers, production config) serving a 30,000-ticket rally
(seeded in bulk by bench_checkin.seed_rally), in headless Chromium with
``Emulation.setCPUThrottlingRate`` 4 on the page and, while online, ``Network.emulateNetworkConditions``
at SLOW_3G below:

1. First open: a phone with an empty profile (on disk, like a phone's) opens the scanner page with its
   door session cookie; time from navigation start to the scanner's ``door:synced`` mark after the full
   sync of every ticket is stored in IndexedDB. Budget: under 5 s.
2. Storage on the device after that first open: ``navigator.storage.estimate()`` and CDP
   ``Storage.getUsageAndQuota`` (IndexedDB, Cache Storage, service worker). Budget: under 10 MB.
3. Camera frame to verdict, online (slow 3G) and offline (the network emulated offline after the
   initial sync): Chromium's fake camera plays a y4m video cycling through the QR codes of distinct
   tickets. From the moment qr-scanner hands a video frame holding a new code to its decoder
   (``QrScanner.scanImage`` wrapped in the page) to the scanner's ``door:verdict`` mark for that code.
   Budgets: p95 under 500 ms online, under 300 ms offline. The decode step (the worker's round trip)
   is timed separately.

Exit status 1 when a budget fails. Writes bench/results/slow_phone_<engine>.md.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from bench.bench_checkin import codes_for, seed_rally
from bench.harness import Row, Server, fresh_database, project_env, write_results

CPU_RATE = 4
#: The slow-3G profile used while online: 400 ms round trip added to every request, 400 kbit/s each way
#: (the throughput of DevTools' "Slow 3G" preset; its latency is 400 ms x 5 = 2,000 ms, see --devtools-latency).
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
DEVTOOLS_SLOW_3G_LATENCY = 2000
BUDGET_ONLINE_MS, BUDGET_OFFLINE_MS, BUDGET_OPEN_MS, BUDGET_STORAGE = 500, 300, 5000, 10_000_000
FPS = 10

#: Before any page script: keep every door:* performance mark the scanner makes (it keeps only the latest),
#: and note when the page says it is ready (IndexedDB open; scans accepted).
MARKS_JS = """
window.__benchMarks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.name.startsWith('door:')) window.__benchMarks.push([e.name, e.startTime, e.detail]);
  }
}).observe({type: 'mark', buffered: true});
new MutationObserver((changes, observer) => {
  if (document.body && document.body.dataset.ready === '1') {
    window.__benchMarks.push(['door:ready', performance.now(), null]);
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-ready']});
"""

#: Wrap qr-scanner's frame scan and its worker messages: when each frame went to the decoder, what came
#: back, and how long the worker's decode took. qr-scanner calls these statics on its class.
WRAP_DECODER_JS = """() => {
  const Q = window.QrScanner, log = window.__bench = {calls: [], decodes: []};
  const scan = Q.scanImage;
  Q.scanImage = async function () {
    const t0 = performance.now(), n = log.decodes.length;
    let data = null;
    try {
      const r = await scan.apply(this, arguments);
      data = r && r.data !== undefined ? r.data : r;
      return r;
    } finally {
      const d = log.decodes.length > n ? log.decodes[log.decodes.length - 1] : null;
      log.calls.push([t0, performance.now(), data, d && d[1] ? d[1] - d[0] : null]);
    }
  };
  const post = Q._postWorkerMessageSync;
  Q._postWorkerMessageSync = function (worker, type) {
    const id = post.apply(this, arguments);
    if (type === 'decode') {
      if (!worker.__bench) {
        worker.__bench = true;
        worker.addEventListener('message', (e) => {
          const d = log.decodes.find((x) => x[2] === e.data.id && !x[1]);
          if (d) d[1] = performance.now();
        });
      }
      log.decodes.push([performance.now(), null, id]);
    }
    return id;
  };
  return true;
}"""


def write_video(path: Path, codes: list[str], hold: int, size=(640, 480)) -> None:
    """A YUV4MPEG2 video at FPS frames/s: each code's QR (black on white, centred) for `hold` frames, in order."""
    import numpy as np
    import qrcode
    from PIL import Image

    side = min(size) * 3 // 5  # inside qr-scanner's default scan region (the central 2/3 square)
    chroma = np.full((size[1] // 2) * (size[0] // 2), 128, dtype=np.uint8).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for code in codes:
            qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=6)
            qr.add_data(qrcode.util.QRData(code, mode=qrcode.util.MODE_ALPHA_NUM))
            qr.make(fit=True)
            image = qr.make_image(fill_color="black", back_color="white").convert("L").resize((side, side),
                                                                                                Image.NEAREST)
            frame = Image.new("L", size, 255)
            frame.paste(image, ((size[0] - side) // 2, (size[1] - side) // 2))
            data = b"FRAME\n" + np.asarray(frame, dtype=np.uint8).tobytes() + chroma + chroma
            for _ in range(hold):
                out.write(data)


def chromium_version() -> str:
    """What `chromium --version` says."""
    from tests.conftest import chromium_path

    try:
        return subprocess.run([chromium_path() or "/usr/bin/chromium", "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except OSError:
        return "Chromium"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Phone:
    """A throttled Chromium with its own on-disk profile, showing one door's scanner page."""

    def __init__(self, pw, srv: Server, facts: dict, door: int, video: Path | None, profile: str, cpu_rate: float):
        from tests.conftest import CHROMIUM_ARGS, chromium_path

        self.srv, self.door_id = srv, facts["doors"][door][0]
        camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        if video:
            camera.append(f"--use-file-for-fake-video-capture={video}")
        self.context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium_path() or "/usr/bin/chromium", headless=True,
            args=CHROMIUM_ARGS + camera, bypass_csp=True, viewport={"width": 412, "height": 915})
        self.context.add_cookies([{"name": "door_session", "value": facts["doors"][door][1], "domain": "127.0.0.1",
                                   "path": f"/door/{self.door_id}/"}])
        self.context.add_init_script(MARKS_JS)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_rate})
        self.cdp.send("Network.enable")

    def network(self, conditions: dict | None) -> None:
        """Slow 3G (a dict of emulateNetworkConditions), offline, or None for the loopback's own speed."""
        self.cdp.send("Network.emulateNetworkConditions", conditions or
                      {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    def marks(self, name: str) -> list:
        """The page's door:* marks of this name, as [name, ms since navigation start, detail]."""
        return [m for m in self.page.evaluate("window.__benchMarks") if m[0] == name]

    def open(self, tickets: int, timeout_s: float = 120) -> tuple[float, dict]:
        """Open the scanner page: ms from navigation start to the full offline set stored, and the steps."""
        self.page.goto(f"{self.srv.url}/door/{self.door_id}/", wait_until="commit")
        self.page.wait_for_function(
            "(n) => (window.__benchMarks || []).some((m) => m[0] === 'door:synced' && m[2] && m[2].tickets === n)",
            arg=tickets, polling=200, timeout=timeout_s * 1000)
        synced = [m for m in self.marks("door:synced") if m[2] and m[2].get("tickets") == tickets]
        steps = self.page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const sync = performance.getEntriesByType('resource')
              .filter((r) => /\\/api\\/sync\\?since=0(&|$)/.test(r.name))[0];
            const ready = (window.__benchMarks || []).find((m) => m[0] === 'door:ready');
            return {html: nav.responseEnd, loaded: nav.loadEventEnd, ready: ready ? ready[1] : null,
                    sync_start: sync ? sync.startTime : null, sync_end: sync ? sync.responseEnd : null,
                    sync_bytes: sync ? sync.transferSize : null};
        }""")
        return synced[0][1], steps

    def storage(self) -> dict:
        """What the scanner keeps on the device, by the page's own estimate and by the browser's."""
        estimate = self.page.evaluate("""async () => {
            const e = await navigator.storage.estimate();
            return {usage: e.usage, details: e.usageDetails || {}};
        }""")
        origin = self.srv.url.rstrip("/")
        quota = self.cdp.send("Storage.getUsageAndQuota", {"origin": origin})
        breakdown = {b["storageType"]: b["usage"] for b in quota.get("usageBreakdown", []) if b["usage"]}
        return {"estimate": estimate["usage"], "estimate_details": estimate["details"], "cdp": quota["usage"],
                "cdp_breakdown": breakdown}

    def scan_video(self, codes: list[str], hold: int) -> dict:
        """Start the camera on the looping video of `codes`; pair each code's first decode with its verdict."""
        page = self.page
        page.bring_to_front()  # qr-scanner waits on video frames, which hidden pages do not get
        page.evaluate(WRAP_DECODER_JS)
        page.evaluate("window.__benchMarks = window.__benchMarks.filter((m) => m[0] !== 'door:verdict')")
        page.click("#camera-toggle")
        page.wait_for_selector("#camera[data-on='1']", state="attached", timeout=30000)
        engine = page.evaluate("""async () => {
            const e = await window.door.scanner._qrEnginePromise;
            return e instanceof Worker ? 'qr-scanner worker (JavaScript)' : 'BarcodeDetector (native)';
        }""")
        # One pass of the video plus slack; stop early once the last code has its verdict.
        try:
            page.wait_for_function("(code) => window.__benchMarks.some((m) => m[0] === 'door:verdict' && "
                                   "m[2] && m[2].code === code)", arg=codes[-1], polling=500,
                                   timeout=(len(codes) * hold / FPS + 20) * 1000)
        except Exception:  # a missed last code: pair what there is
            pass
        log = page.evaluate("window.__bench")
        verdicts = [m for m in self.marks("door:verdict") if m[2] and m[2].get("code")]
        page.evaluate("document.getElementById('camera-toggle').click()")  # under the verdict screen
        if os.environ.get("SLOW_PHONE_DEBUG"):
            index = {c: i for i, c in enumerate(codes)}
            print("decoded:", [index.get(c[2], c[2] and "?") for c in sorted(log["calls"])], file=sys.stderr)
            print("verdicts:", [(index.get(v[2]["code"]), round(v[1])) for v in verdicts], file=sys.stderr)
        return pair(codes, log["calls"], verdicts) | {"engine": engine}

    def close(self) -> None:
        """Close the browser (its profile goes with the temporary directory)."""
        self.context.close()


def pair(codes: list[str], calls: list, verdicts: list) -> dict:
    """Frame-to-verdict per code: from the first frame the decoder was given after the last one that
    still showed the previous code (a conservative start) to that code's first verdict mark."""
    first_verdict = {}
    for _name, at, detail in verdicts:
        first_verdict.setdefault(detail["code"], (at, detail["verdict"]))
    calls = sorted(calls)
    # The video loops: drop what the decoder saw after it came back to the first code.
    last = next((i for i, c in enumerate(calls) if c[2] == codes[-1]), None)
    wrap = next((i for i in range(last, len(calls)) if calls[i][2] == codes[0]), None) if last is not None else None
    calls = calls[:wrap]
    samples, decode_ms, scan_ms, after_decode, misses, kinds = [], [], [], [], {}, {}
    for prev, code in pairwise(codes):
        last_prev = max((i for i, c in enumerate(calls) if c[2] == prev), default=None)
        hit = next((i for i, c in enumerate(calls) if c[2] == code), None)
        why = ("previous code never decoded" if last_prev is None else "never decoded" if hit is None else
               "decoded before the previous code's last frame" if hit <= last_prev else
               "no verdict with its code" if code not in first_verdict else None)
        if why:
            misses[why] = misses.get(why, 0) + 1
            continue
        start = calls[last_prev + 1][0]
        at, kind = first_verdict[code]
        samples.append(at - start)
        kinds[kind] = kinds.get(kind, 0) + 1
        scan_ms.append(calls[hit][1] - calls[hit][0])
        after_decode.append(at - calls[hit][1])
        if calls[hit][3] is not None:
            decode_ms.append(calls[hit][3])
    all_decodes = [c[3] for c in calls if c[3] is not None]
    gaps = [b[0] - a[0] for a, b in pairwise(calls)]
    return {"samples": samples, "decode_ms": decode_ms, "scan_ms": scan_ms, "after_decode": after_decode,
            "misses": misses, "verdicts": kinds, "frames": len(calls), "all_decodes": all_decodes, "gaps": gaps}


def open_steps(s: dict, total: float) -> str:
    """Where the first open's time went, in ms from navigation start."""
    text = f"page HTML at {s['html']:.0f}, load event {s['loaded']:.0f}"
    if s["ready"] is not None:
        text += f", ready to scan {s['ready']:.0f}"
    if s["sync_start"] is not None:
        text += (f", full sync requested at {s['sync_start']:.0f} and received at {s['sync_end']:.0f} "
                 f"({s['sync_bytes'] / 1024:.0f} KiB on the wire), parsed and stored in {total - s['sync_end']:.0f}")
    return text


def unpaired(r: dict) -> str:
    """Why codes could not be paired, if any were not."""
    return f" ({', '.join(f'{k}: {v}' for k, v in r['misses'].items())})" if r["misses"] else ""


def describe(r: dict) -> str:
    """One cell: the frame-to-verdict percentiles and where the time went."""
    s = r["samples"]
    text = (f"{len(s)} codes: p50 {statistics.median(s):.0f} ms, p95 {pct(s, 95):.0f} ms, max {max(s):.0f} ms; "
            f"of which decoder (frame drawn, worker decode, result; the decoding frame) p50 "
            f"{statistics.median(r['scan_ms']):.0f} / p95 {pct(r['scan_ms'], 95):.0f} ms")
    if r["decode_ms"]:
        text += f" (worker decode alone p95 {pct(r['decode_ms'], 95):.0f} ms)"
    text += (f", decode to verdict shown p50 {statistics.median(r['after_decode']):.0f} / p95 "
             f"{pct(r['after_decode'], 95):.0f} ms; {r['frames']} frames to the decoder, every "
             f"{statistics.median(r['gaps']):.0f} ms (p50); {sum(r['misses'].values())} codes not paired"
             f"{unpaired(r)}; verdicts "
             + ", ".join(f"{k} {v}" for k, v in sorted(r["verdicts"].items())) + f"; decoder: {r['engine']}")
    return text


def bench_engine(pw, engine: str, tickets: int, codes_n: int, hold: int, latency: int, cpu_rate: float,
                 workdir: Path) -> list[Row]:
    """First open, storage, online and offline frame-to-verdict on one engine."""
    rows: list[Row] = []
    network = dict(SLOW_3G, latency=latency)
    net_text = (f"slow 3G ({latency} ms, {network['downloadThroughput'] * 8 / 1000:.0f}/"
                f"{network['uploadThroughput'] * 8 / 1000:.0f} kbit/s), CPU x{cpu_rate:g}")
    load_before = os.getloadavg()[0]
    with fresh_database(engine) as url:
        t0 = time.perf_counter()
        facts = seed_rally(url, tickets, f"Bench slow phones {tickets // 1000}k")
        seed_s = time.perf_counter() - t0
        codes = codes_for(facts, 2 * codes_n)
        online_codes, offline_codes = codes[:codes_n], codes[codes_n:]
        write_video(workdir / "online.y4m", online_codes, hold)
        write_video(workdir / "offline.y4m", offline_codes, hold)
        with Server("wsgi:app", workers=2, env=project_env(url), ready_path="/healthz") as srv:
            phone = Phone(pw, srv, facts, 0, workdir / "online.y4m", str(workdir / "profile-online"), cpu_rate)
            try:
                phone.network(network)
                open_ms, steps = phone.open(tickets)
                time.sleep(2)  # let the service worker finish caching the assets it installs
                store = phone.storage()
                online = phone.scan_video(online_codes, hold)
            finally:
                phone.close()
            phone = Phone(pw, srv, facts, 1, workdir / "offline.y4m", str(workdir / "profile-offline"), cpu_rate)
            try:
                phone.open(tickets)  # the initial sync, at the loopback's speed
                phone.network({"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
                phone.page.wait_for_function("() => !navigator.onLine && !window.door.online", polling=200,
                                             timeout=10000)
                offline = phone.scan_video(offline_codes, hold)
            finally:
                phone.close()
    load_text = f"machine load average (1 min) {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after"
    rows.append(Row(f"first open of the scanner, {tickets:,} tickets, sync included", engine,
                    figures=f"{open_ms:.0f} ms from navigation to the full offline set stored "
                            f"({open_steps(steps, open_ms)}); "
                            f"{net_text}; seeding took {seed_s:.1f} s; {load_text}",
                    target=f"< {BUDGET_OPEN_MS / 1000:.0f} s", passed=open_ms < BUDGET_OPEN_MS))
    used = max(store["estimate"], store["cdp"])
    parts = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(store["cdp_breakdown"].items()))
    rows.append(Row(f"storage on the device, {tickets:,} tickets", engine,
                    figures=f"{used / 1e6:.2f} MB (navigator.storage.estimate {store['estimate'] / 1e6:.2f} MB; "
                            f"CDP Storage.getUsageAndQuota {store['cdp'] / 1e6:.2f} MB: {parts})",
                    target=f"< {BUDGET_STORAGE / 1e6:.0f} MB", passed=used < BUDGET_STORAGE))
    for label, r, budget, cond in (("online", online, BUDGET_ONLINE_MS, net_text),
                                   ("offline", offline, BUDGET_OFFLINE_MS, f"offline, CPU x{cpu_rate:g}")):
        ok = len(r["samples"]) >= min(50, codes_n - 5) and pct(r["samples"], 95) < budget if r["samples"] else False
        rows.append(Row(f"camera frame to verdict, {label} ({cond})", engine,
                        figures=describe(r) if r["samples"] else f"no samples{unpaired(r)}",
                        target=f"p95 < {budget} ms", passed=ok))
    return rows


NOTES = """\
Headless Chromium ({chromium}) through Playwright, a fresh on-disk profile per phone. CPU: CDP
`Emulation.setCPUThrottlingRate` {cpu} on the page's target. Network (online cases):
`Network.emulateNetworkConditions` with latency {latency} ms, download and upload 400 kbit/s (50,000 bytes/s):
the throughput of DevTools' "Slow 3G" preset with the 400 ms round trip of the usual slow-3G profile
(DevTools' own preset multiplies it by 5, 2,000 ms a request: `--devtools-latency`). The emulation is the
page's: the service worker's own requests (its asset cache, filled after the page loads) are not throttled.

First open: from navigation start (the page's time origin) to the scanner's `door:synced` performance mark
after the first full sync is stored in IndexedDB; the door session cookie is set beforehand (opening the
door link and naming the device are a person's steps). Storage: after the first open, the larger of
`navigator.storage.estimate()` and CDP `Storage.getUsageAndQuota` for the origin.

Camera frame to verdict: Chromium's fake camera plays a 640x480 y4m video at {fps} frames/s, each ticket's QR
shown for {hold} frames, distinct tickets, in order. qr-scanner scans at most 8 frames/s (scanner.js). A
sample runs from the moment qr-scanner hands the decoder the first frame after the last one that still
showed the previous ticket (so a frame of the new ticket the decoder missed counts against us) to the
scanner's `door:verdict` mark for the new code (the verdict screen filled in). The wait from the camera's
frame to the scanner's next scan slot (up to 125 ms at 8 scans/s) is not in it. Online, the verdict is the
server's (`POST /api/v1/door/checkin` through the emulated network, while the 5 s sync loop shares it);
offline, it is decided on the device (Ed25519 check, IndexedDB). "Decoder" is `QrScanner.scanImage` for the
frame that decoded (drawing the frame, the worker's decode, the result); "worker decode alone" is the
worker's round trip for it."""


def main(argv=None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--tickets", type=int, default=30_000)
    parser.add_argument("--codes", type=int, default=110,
                        help="distinct tickets per camera case (about 100 samples: p95 is then the 6th slowest)")
    parser.add_argument("--hold", type=int, default=8, help=f"frames each QR stays in view ({FPS} frames/s)")
    parser.add_argument("--devtools-latency", action="store_true",
                        help=f"DevTools' own Slow 3G latency ({DEVTOOLS_SLOW_3G_LATENCY} ms) instead of 400 ms")
    parser.add_argument("--cpu-rate", type=float, default=CPU_RATE, help="CPU slowdown (the budgets are for 4)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: a 3,000-ticket rally, 12 codes per camera case; not of record")
    args = parser.parse_args(argv)
    if args.quick:
        args.tickets, args.codes = 3_000, 12
    from playwright.sync_api import sync_playwright

    latency = DEVTOOLS_SLOW_3G_LATENCY if args.devtools_latency else SLOW_3G["latency"]
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    failed = False
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="slow-phone-") as tmp:
        for engine in engines:
            rows = bench_engine(pw, engine, args.tickets, args.codes, args.hold, latency, args.cpu_rate, Path(tmp))
            failed |= any(r.passed is False for r in rows)
            write_results(f"slow_phone_{engine}", rows, title="Slow phones (issue 14)",
                          notes=NOTES.format(chromium=chromium_version(), cpu=f"{args.cpu_rate:g}", latency=latency,
                                             fps=FPS, hold=args.hold)
                          + (" QUICK smoke run: a smaller rally and fewer codes; not a measurement of record."
                             if args.quick else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
