#!/usr/bin/env python3
"""Prints the package's target graph as the Markdown table docs/architecture.md shows:
each target, its folder, what it depends on (this package's targets first, then external
products), and the Swift/C lines in its folder. Run from the package root:
    python3 Tools/target_graph.py"""
import json, os, subprocess

def lines(folder):
    total = 0
    for dp, _, fs in os.walk(folder):
        for f in fs:
            if f.endswith(('.swift', '.c', '.h')):
                with open(os.path.join(dp, f), errors='replace') as fh:
                    total += sum(1 for _ in fh)
    return total

pkg = json.loads(subprocess.check_output(['swift', 'package', 'dump-package'], text=True))
print('| target | kind | folder | depends on | lines |')
print('|---|---|---|---|---|')
for t in pkg['targets']:
    if t['type'] == 'system':
        continue
    base = 'Tests' if t['type'] == 'test' else 'Sources'
    folder = t.get('path') or f"{base}/{t['name']}"
    deps = []
    for d in t.get('dependencies', []):
        if 'byName' in d: deps.append(d['byName'][0])
        elif 'target' in d: deps.append(d['target'][0])
        elif 'product' in d: deps.append(f"{d['product'][0]} ({d['product'][1]})")
    local = [d for d in deps if '(' not in d]
    ext = [d for d in deps if '(' in d]
    print(f"| {t['name']} | {t['type']} | `{folder}` | {', '.join(local + ext) or '—'} | {lines(folder)} |")
