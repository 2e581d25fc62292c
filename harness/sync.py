#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Lay the project onto the pristine kernel tree, and carry edits back.

The kernel tree is a git repository whose tag ``base`` is pristine Linux.
The wanted state is ``base`` + ``patches/series`` + the overlay (every file
of the project under a top-level directory the kernel also has).  It is
computed in a private git index, never in the work tree, and only files
whose content differs from the wanted state are written: kbuild then
rebuilds exactly what changed.

    sync.py sync    REPO TREE             bring TREE to the wanted state
    sync.py refresh REPO TREE PATCH [F..] regenerate PATCH from TREE's edits
    sync.py new     REPO TREE NAME F...   start a patch for upstream files F
"""

import os
import re
import subprocess
import sys


class Failure(Exception):
    """A problem the user must fix; reported as one message."""


def git(tree, *args, inp=None, env=None, check=True):
    full_env = dict(os.environ, **(env or {}))
    res = subprocess.run(['git', '-C', tree, *args], input=inp,
                         capture_output=True, env=full_env)
    if check and res.returncode != 0:
        raise Failure('git %s: %s' % (' '.join(args[:2]),
                                      res.stderr.decode(errors='replace').strip()))
    return res.stdout.decode()


def series_entries(repo):
    """The patches of patches/series, in order: (absolute path, [overlay files]).

    A line names a patch; the indented lines after it (leading whitespace)
    name, one each, the overlay files that patch introduces:

        driver-core-context-device-bus.patch
            drivers/base/context_bus.rs
            include/linux/context_bus.h

    '#' starts a comment.
    """
    path = os.path.join(repo, 'patches', 'series')
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for num, line in enumerate(f, 1):
            text = line.split('#', 1)[0].rstrip()
            if not text.strip():
                continue
            if text[0] in ' \t':
                if not out:
                    raise Failure('patches/series:%d: the file %s comes before any patch'
                                  % (num, text.strip()))
                out[-1][1].append(text.strip())
                continue
            name = text.split()[0]
            p = os.path.join(repo, 'patches', name)
            if not os.path.exists(p):
                raise Failure('patches/series names %s, which does not exist' % name)
            out.append((p, []))
    return out


def series(repo):
    """The patches of patches/series, in order, as absolute paths."""
    return [p for p, _ in series_entries(repo)]


def check_declared(repo, files):
    """Fail unless each overlay file (FILES, from overlay_files()) is declared
    under exactly one patch of patches/series, and each declared file is one."""
    have = set(name for name, _, _ in files)
    owner = {}
    twice = []
    for patch, declared in series_entries(repo):
        for name in declared:
            if name in owner:
                twice.append('%s (under %s and %s)' % (name, owner[name],
                                                     os.path.basename(patch)))
            owner[name] = os.path.basename(patch)
    missing = sorted(have - set(owner))
    absent = sorted(set(owner) - have)
    problems = []
    if missing:
        problems.append('overlay files that no patch of patches/series introduces:\n    %s\n'
                        'list each, indented, under the patch it belongs to'
                        % '\n    '.join(missing))
    if absent:
        problems.append('patches/series declares files that are not overlay files:\n    %s\n'
                        'create them, or drop their lines (harness files are no overlay)'
                        % '\n    '.join('%s (under %s)' % (n, owner[n]) for n in absent))
    if twice:
        problems.append('patches/series declares files twice:\n    %s' % '\n    '.join(twice))
    if problems:
        raise Failure('\n'.join(problems))
    return owner


def has_diff(patch):
    return header_of(patch) != open(patch).read()


def overlay_files(repo, tree, top=None):
    """Project files that belong in the kernel tree, with their modes: those
    under a top-level directory the kernel tree (TREE, or the names TOP) has."""
    if top is None:
        top = set(os.listdir(tree))
    dirs = sorted(d for d in os.listdir(repo)
                  if d in top and os.path.isdir(os.path.join(repo, d)) and d != '.git')
    if not dirs:
        return []
    names = git(repo, 'ls-files', '-z', '--cached', '--others', '--exclude-standard',
                '--', *dirs).split('\0')
    files = []
    for name in sorted(set(n for n in names if n)):
        full = os.path.join(repo, name)
        if os.path.isfile(full):
            mode = '100755' if os.access(full, os.X_OK) else '100644'
            files.append((name, full, mode))
    return files


class Index:
    """A private git index of TREE, starting from the pristine base."""

    def __init__(self, tree):
        self.tree = tree
        self.env = {'GIT_INDEX_FILE': os.path.join(tree, '.git', 'ctxbus-index')}
        git(tree, 'read-tree', 'base', env=self.env)

    def apply(self, patch):
        if not has_diff(patch):
            return
        res = subprocess.run(['git', '-C', self.tree, 'apply', '--cached', patch],
                             capture_output=True, env=dict(os.environ, **self.env))
        if res.returncode != 0:
            raise Failure('%s does not apply to the pristine tree:\n%s\n'
                          'rebase it on the kernel version in use, or fix patches/series'
                          % (os.path.relpath(patch), res.stderr.decode().strip()))

    def add(self, files, base_tree):
        if not files:
            return
        clashes = [n for n, _, _ in files
                   if git(self.tree, 'ls-tree', '--name-only', base_tree, '--', n).strip()]
        if clashes:
            raise Failure('overlay files shadow upstream files: %s\n'
                          'an edit to an upstream file belongs in patches/ (see README.md)'
                          % ', '.join(clashes))
        blobs = git(self.tree, 'hash-object', '-w', '--stdin-paths',
                    inp=''.join(f + '\n' for _, f, _ in files).encode()).split()
        info = ''.join('%s %s\t%s\n' % (mode, blob, name)
                       for (name, _, mode), blob in zip(files, blobs))
        git(self.tree, 'update-index', '--add', '--index-info', inp=info.encode(), env=self.env)

    def write_tree(self):
        return git(self.tree, 'write-tree', env=self.env).strip()


def changed_paths(tree, a, b):
    out = git(tree, 'diff', '--no-renames', '--name-only', '-z', a, b)
    return set(p for p in out.split('\0') if p)


def blob_of(tree, treeish, path):
    """(mode, sha) of path in treeish, or None if absent."""
    out = git(tree, 'ls-tree', treeish, '--', path).strip()
    if not out:
        return None
    mode, _, rest = out.partition(' ')
    return mode, rest.split()[1]


def sync(repo, tree):
    state = os.path.join(tree, '.git', 'ctxbus-synced')
    base = git(tree, 'rev-parse', 'base^{tree}').strip()
    idx = Index(tree)
    patches = series(repo)
    for p in patches:
        idx.apply(p)
    files = overlay_files(repo, tree)
    idx.add(files, base)
    wanted = idx.write_tree()
    try:
        check_declared(repo, files)
    except Failure as e:
        print('==> warning: %s\n    (make series fails on this)' % e, file=sys.stderr)

    # What the last sync left on disk, path by path ('-' for nothing).
    last = {}
    if os.path.exists(state):
        with open(state) as f:
            for line in f:
                path, tab, sha = line.rstrip('\n').partition('\t')
                if path and tab:
                    last[path] = sha or None
    now = changed_paths(tree, base, wanted)
    paths = sorted(now | set(last))

    # Hash what is on disk in one go, then write only what differs.
    on_disk = [p for p in paths if os.path.isfile(os.path.join(tree, p))]
    hashes = dict(zip(on_disk, git(tree, 'hash-object', '--stdin-paths',
                                   inp=''.join(p + '\n' for p in on_disk).encode()).split()))
    written = removed = 0
    kept = []
    record = {}
    for p in paths:
        want = blob_of(tree, wanted, p)
        want_sha = want[1] if want else None
        full = os.path.join(tree, p)
        disk = hashes.get(p)
        if p in last:
            before = last[p]
        else:
            pristine = blob_of(tree, base, p)
            before = pristine[1] if pristine else None
        if disk != want_sha and disk != before:
            # Edited in the tree since the last sync: never overwrite that.
            kept.append(p)
            record[p] = before
            continue
        record[p] = want_sha
        if want is None:
            if disk is not None:
                os.unlink(full)
                removed += 1
            continue
        mode, sha = want
        if disk != sha:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            data = subprocess.run(['git', '-C', tree, 'cat-file', 'blob', sha],
                                  capture_output=True, check=True).stdout
            tmp = full + '.ctxbus-tmp'
            with open(tmp, 'wb') as f:
                f.write(data)
            os.replace(tmp, full)
            written += 1
        executable = mode == '100755'
        if executable != os.access(full, os.X_OK):
            os.chmod(full, 0o755 if executable else 0o644)

    with open(state, 'w') as f:
        f.writelines('%s\t%s\n' % (p, sha or '') for p, sha in sorted(record.items())
                     if p in now or p in kept)
    print('==> sync: %d patches, %d overlay files; %d files written, %d removed, '
          'the rest untouched' % (len(patches), len(files), written, removed),
          file=sys.stderr)
    if kept:
        print('==> kept edits made in the tree, not in the project yet (carry them back with '
              'make refresh-patch, or delete the file to drop them):\n    %s'
              % '\n    '.join(kept), file=sys.stderr)


def patch_files(tree, patch):
    if not has_diff(patch):
        return []
    out = subprocess.run(['git', '-C', tree, 'apply', '--numstat', patch],
                         capture_output=True, check=True).stdout.decode()
    return [line.split('\t', 2)[2] for line in out.splitlines() if line.count('\t') >= 2]


def header_of(patch):
    with open(patch) as f:
        text = f.read()
    m = re.search(r'^diff --git ', text, re.M)
    return text[:m.start()] if m else text


def refresh(repo, tree, patch, extra):
    patch = os.path.abspath(patch)
    patches = series(repo)
    if patch not in patches:
        raise Failure('%s is not in patches/series' % patch)
    pos = patches.index(patch)
    files = sorted(set(patch_files(tree, patch)) | set(extra))
    for later in patches[pos + 1:]:
        shared = set(files) & set(patch_files(tree, later))
        if shared:
            raise Failure('%s also changes %s: refresh that patch instead, or split the edit'
                          % (os.path.relpath(later), ', '.join(sorted(shared))))
    idx = Index(tree)
    for p in patches[:pos]:
        idx.apply(p)
    before = idx.write_tree()
    diff = git(tree, 'diff', '--no-color', '--no-renames', '--no-ext-diff', before, '--', *files)
    if not diff:
        raise Failure('no change left in %s: drop the patch from patches/series instead'
                      % ', '.join(files))
    header = header_of(patch)
    with open(patch, 'w') as f:
        f.write(header + diff)
    print('==> refreshed %s (%s)' % (os.path.relpath(patch, repo), ', '.join(files)),
          file=sys.stderr)


def new(repo, tree, name, files):
    if not files:
        raise Failure('name the upstream files the new patch changes: FILES="a/b.c ..."')
    if not name.endswith('.patch'):
        name += '.patch'
    path = os.path.join(repo, 'patches', name)
    if os.path.exists(path):
        raise Failure('%s exists already: use refresh-patch' % name)
    with open(path, 'w') as f:
        f.write('Subject: [PATCH] subsystem: Say what the change does\n\n'
                'Say why the change is needed and how it works.\n---\n')
    with open(os.path.join(repo, 'patches', 'series'), 'a') as f:
        f.write(name + '\n')
    # The patch is empty, so "before" is the tree as the series leaves it.
    refresh(repo, tree, path, files)


def main(argv):
    argv = argv[:1] + [os.path.abspath(a) for a in argv[1:3]] + argv[3:]
    try:
        if len(argv) >= 3 and argv[0] == 'sync':
            sync(argv[1], argv[2])
        elif len(argv) >= 4 and argv[0] == 'refresh':
            refresh(argv[1], argv[2], argv[3], argv[4:])
        elif len(argv) >= 4 and argv[0] == 'new':
            new(argv[1], argv[2], argv[3], argv[4:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Failure as e:
        print('\nerror: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
