#!/usr/bin/env python3
"""Checks Mien's Prometheus endpoints against a job's outputs (used by ops/metrics-test.sh).

  metrics_check.py scrape URL FILE          fetch URL, parse it with prometheus_client's text parser, save the text
  metrics_check.py midrun COORD.txt VIDEOS     a scrape before any feature worker: videos known, batches queued, nothing processed
  metrics_check.py final OUT_DIR COORD.txt AGG.txt MIDRUN_COORD.txt SEQ.txt FW.txt…
                                              final counters equal the counts in OUT_DIR's outputs

Counts from the outputs (frames.jsonl has one line per face and frame, so it is compared
with the face counters; videos.jsonl's "frames" is the frames examined per video).
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def parse(text):
    """{(sample name, frozenset(labels)): value}; raises on text that is not valid exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    if key not in samples:
        raise SystemExit(f"metrics_check: no sample {name}{labels} in the exposition")
    return samples[key]


def value_or_zero(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def load(path):
    return parse(open(path).read())


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def check(ok, message):
    if not ok:
        raise SystemExit(f"metrics_check: FAILED: {message}")


def main(argv):
    cmd = argv[1]
    if cmd == "scrape":
        url, path = argv[2], argv[3]
        with urllib.request.urlopen(url, timeout=10) as r:
            check(r.status == 200, f"{url} answered {r.status}")
            ctype = r.headers.get("Content-Type", "")
            check(ctype.startswith("text/plain; version=0.0.4"), f"{url} Content-Type {ctype!r}")
            text = r.read().decode()
        parse(text)  # raises when not valid exposition
        open(path, "w").write(text)
        return
    if cmd == "midrun":
        c, videos = load(argv[2]), int(argv[3])
        for name, v in c.items():
            if name[0].endswith("_total"):
                check(v >= 0, f"negative counter {name}")
        check(value(c, "mien_videos", role="coordinator") == videos, "mid-run: mien_videos is not the number of inputs")
        queued = value(c, "mien_queue_depth", role="coordinator", kind="feature")
        check(queued > 0, "mid-run: no feature batch queued")
        check(value(c, "mien_workers_live", role="coordinator", kind="feature") == 0, "mid-run: a feature worker before any was started")
        check(value(c, "mien_frames_processed_total", role="coordinator") == 0, "mid-run: frames processed without a feature worker")
        check(value(c, "mien_frames_expected", role="coordinator") > 0, "mid-run: no frames expected")
        print(f"metrics_check: mid-run exposition parsed: {videos} videos, {int(queued)} feature batches queued, no worker yet")
        return
    if cmd == "final":
        out, coord, agg, mid, seq = argv[2], load(argv[3]), load(argv[4]), load(argv[5]), load(argv[6])
        workers = [load(p) for p in argv[7:]]
        frames_lines = lines(f"{out}/frames.jsonl")
        segments = lines(f"{out}/segments.jsonl")
        videos = lines(f"{out}/videos.jsonl")
        examined = sum(v["frames"] for v in videos)
        failed = sum(1 for v in videos if v["status"] != "ok")
        C = lambda n, **l: value(coord, n, role="coordinator", **l)
        A = lambda n, **l: value(agg, n, role="aggregator", **l)
        expect = [
            ("coordinator frames processed = frames examined (videos.jsonl)", C("mien_frames_processed_total"), examined),
            ("coordinator faces tracked = frames.jsonl lines", C("mien_faces_tracked_total"), len(frames_lines)),
            ("coordinator videos done = videos.jsonl lines", C("mien_videos_done_total"), len(videos)),
            ("coordinator videos failed = error lines in videos.jsonl", C("mien_videos_failed_total"), failed),
            ("aggregator frame results published = frames.jsonl lines", A("mien_results_published_total", kind="frame"), len(frames_lines)),
            ("aggregator segment results published = segments.jsonl lines", A("mien_results_published_total", kind="segment"), len(segments)),
            ("aggregator video results published = videos.jsonl lines", A("mien_results_published_total", kind="video"), len(videos)),
            ("aggregator job metrics published once", A("mien_results_published_total", kind="job_metrics"), 1),
            ("aggregator windows merged = coordinator windows cut", A("mien_windows_merged_total"), C("mien_windows_cut_total")),
            ("sequence worker windows classified = coordinator windows cut",
             value(seq, "mien_windows_processed_total", role="sequence-worker"), C("mien_windows_cut_total")),
            ("sequence worker batches = coordinator window batches completed",
             value(seq, "mien_batches_processed_total", role="sequence-worker", kind="sequence"), C("mien_batches_completed_total", kind="sequence")),
            ("hand-offs timed = videos done", C("mien_handoff_to_result_seconds_count"), len(videos)),
            ("feature round trips timed = feature batches completed", C("mien_batch_roundtrip_seconds_count", kind="feature"),
             C("mien_batches_completed_total", kind="feature")),
            ("nothing in flight at the end", C("mien_batches_in_flight", kind="feature") + C("mien_batches_in_flight", kind="sequence"), 0),
        ]
        if workers:
            expect += [
                ("feature workers' frames = coordinator frames processed",
                 sum(value(w, "mien_frames_processed_total", role="feature-worker") for w in workers), examined),
                ("feature workers' batches = coordinator feature batches completed",
                 sum(value(w, "mien_batches_processed_total", role="feature-worker", kind="feature") for w in workers),
                 C("mien_batches_completed_total", kind="feature")),
                ("feature batch timings = feature workers' batches",
                 sum(value(w, "mien_feature_batch_seconds_count", role="feature-worker") for w in workers),
                 sum(value(w, "mien_batches_processed_total", role="feature-worker", kind="feature") for w in workers)),
            ]
        for what, got, want in expect:
            check(got == want, f"{what}: metric {got}, expected {want}")
            print(f"metrics_check: {what}: {int(got)}")
        for key, v in mid.items():
            if key[0].endswith("_total") and key in coord:
                check(coord[key] >= v, f"counter {key} went down: {v} mid-run, {coord[key]} at the end")
        errors = {dict(k[1]).get("kind"): v for k, v in coord.items() if k[0] == "mien_errors_total"}
        check(all(v == 0 for v in errors.values()), f"coordinator errors in a clean job: {errors}")
        print("metrics_check: final counters equal the job's counts")
        return
    raise SystemExit(f"metrics_check: unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
