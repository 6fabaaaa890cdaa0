#!/usr/bin/env python3
"""plot-bench: stacked bar chart of per-stage time from samseg-bench --json.

    samseg-bench --json --input-size 1024 --objects 1 > a.json
    samseg-bench --json --input-size 512 --objects 3 > b.json
    python3 tools/plot-bench.py a.json b.json -o docs/performance-stages.png

Each input file is the JSON list samseg-bench prints (one row per input
size); rows from all files are drawn side by side, one bar per row, split
into the four stages (per-object stages summed over objects), with the
frame's process CPU time (all threads) as a marker when the row has it.
Needs matplotlib (only this script does; the project does not).
"""
import argparse
import json
import sys

STAGES = [
    ("image_encoder", "image encoder"),
    ("memory_attention", "memory attention"),
    ("mask_decoder", "mask decoder"),
    ("memory_encoder", "memory encoder"),
]


def load_rows(paths):
    rows = []
    for arg in paths:
        p, _, label = arg.partition(":")
        with open(p) as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = [data]
        for r in data:
            if "stages_ms" not in r:
                sys.exit(f"plot-bench: {p}: not samseg-bench --json output")
            r["label"] = label or None
            rows.append(r)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+",
                    help="samseg-bench --json output, optionally FILE:LABEL")
    ap.add_argument("-o", "--output", default="performance-stages.png")
    ap.add_argument("--title", default="samseg per-frame time by stage")
    ap.add_argument("--note", default="", help="subtitle (machine, load)")
    ap.add_argument("--markdown", action="store_true",
                    help="print the rows as a markdown table, no plot "
                    "(needs no matplotlib)")
    args = ap.parse_args()

    if args.markdown:
        print("| precision | input | objects | frame ms | frame CPU ms | "
              "image enc ms | mem attn ms | decoder ms | mem enc ms | "
              "peak RSS MiB | page faults |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in load_rows(args.json):
            st = r["stages_ms"]
            cpu = r.get("frame_cpu_ms")
            flt = r.get("page_faults")
            print(f"| {r.get('precision', 'f32')}"
                  f"{' ' + r['label'] if r['label'] else ''} | "
                  f"{r['input_size']} | "
                  f"{r['objects']} | {r['frame_ms']:.0f} | "
                  f"{'' if cpu is None else f'{cpu:.0f}'} | "
                  + " | ".join(f"{st.get(k, 0.0):.0f}" for k, _ in STAGES)
                  + f" | {r['rss_kb'] / 1024:.0f} | "
                  f"{'' if flt is None else f'{flt:.0f}'} |")
        return

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = load_rows(args.json)
    labels = [f"{r.get('precision', 'f32')}\n{r['input_size']}px\n"
              f"{r['objects']} obj" + (f"\n{r['label']}" if r["label"] else "")
              for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 4.5, 4.8))
    bottom = [0.0] * len(rows)
    for key, name in STAGES:
        vals = [r["stages_ms"].get(key, 0.0) / 1000.0 for r in rows]
        ax.bar(x, vals, 0.6, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals)]
    cpu = [r.get("frame_cpu_ms") for r in rows]
    if any(c is not None for c in cpu):
        ax.plot([i for i, c in zip(x, cpu) if c is not None],
                [c / 1000.0 for c in cpu if c is not None], "k_",
                markersize=28, markeredgewidth=2,
                label="process CPU time / frame")
    for i, b in enumerate(bottom):
        ax.text(i, b, f"{b:.2f} s", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("seconds per frame (wall, median)")
    ax.set_title(args.title + (f"\n{args.note}" if args.note else ""),
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"plot-bench: wrote {args.output}")


if __name__ == "__main__":
    main()
