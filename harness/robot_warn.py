#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Warnings of a kernel build log, and which of them the series adds.

    robot_warn.py parse LOG TREE          print "path<TAB>kind<TAB>message",
                                          one warning a line, line numbers dropped
    robot_warn.py new SERIES BASE FILES   print the warnings of SERIES that
                                          are not in BASE, for the files named
                                          in FILES (one path a line)

``parse`` knows the shapes a build prints: compilers' and sparse's
``path:line:col: warning: text``, kernel-doc's ``Warning: path:line text``,
and rustc's and Clippy's ``warning: text`` followed by a
``--> path:line:col`` line.  Paths are made relative to TREE.
A warning counts once per place, so a header's warning seen from several
objects is one warning.  ``new`` compares per file, as a multiset of
messages: a message that appears more often in SERIES than in BASE is new.
"""

import collections
import re
import sys

C_WARN = re.compile(r'^(\S+?):(\d+):(?:(\d+):)? (warning|error): (.*)$')
# kernel-doc, which W=1 runs: "Warning: path:line text".
KDOC_WARN = re.compile(r'^(Warning|Error): (\S+?):(\d+):? (.*)$')
RUST_HEAD = re.compile(r'^(warning|error)(?:\[\S+\])?: (.*)$')
RUST_LOC = re.compile(r'^\s*--> (\S+?):(\d+):(\d+)$')
# rustc's closing tallies ("warning: 3 warnings emitted") are no warnings.
RUST_TALLY = re.compile(r'^\d+ warnings? emitted|^build failed|^aborting due to')


def relative(path, tree):
    for prefix in (tree.rstrip('/') + '/', './'):
        if path.startswith(prefix):
            path = path[len(prefix):]
    while path.startswith('../'):
        # Paths out of O= back into the source tree: keep what follows
        # the tree's own name.
        path = path[3:]
        name = tree.rstrip('/').rsplit('/', 1)[-1] + '/'
        if path.startswith(name):
            path = path[len(name):]
    return path


def parse(log, tree):
    seen = set()
    pending = None
    with open(log, errors='replace') as f:
        for raw in f:
            line = re.sub(r'\x1b\[[0-9;]*m', '', raw.rstrip('\n'))
            m = C_WARN.match(line)
            if m:
                path, num, _, kind, text = m.groups()
                seen.add((relative(path, tree), num, kind, text.strip()))
                pending = None
                continue
            m = KDOC_WARN.match(line)
            if m:
                kind, path, num, text = m.groups()
                seen.add((relative(path, tree), num, kind.lower(), text.strip()))
                pending = None
                continue
            m = RUST_HEAD.match(line)
            if m:
                pending = None if RUST_TALLY.match(m.group(2)) else m.groups()
                continue
            m = RUST_LOC.match(line)
            if m and pending:
                kind, text = pending
                seen.add((relative(m.group(1), tree), m.group(2), kind, text.strip()))
                pending = None
    for path, _, kind, text in sorted(seen):
        print('%s\t%s\t%s' % (path, kind, text))


def load(tsv):
    with open(tsv) as f:
        return [tuple(line.rstrip('\n').split('\t', 2)) for line in f if line.strip()]


def new(series, base, files):
    with open(files) as f:
        wanted = {line.strip() for line in f if line.strip()}
    left = collections.Counter(w for w in load(base) if w[0] in wanted)
    for w in load(series):
        if w[0] not in wanted:
            continue
        if left[w] > 0:
            left[w] -= 1
        else:
            print('\t'.join(w))


def main(argv):
    if len(argv) == 4 and argv[1] == 'parse':
        parse(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == 'new':
        new(argv[2], argv[3], argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
