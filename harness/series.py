#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the series as git format-patch files: `make series`.

    series.py REPO PRISTINE OUTDIR

Checks that patches/series declares every overlay file under exactly one
patch, then makes one commit per patch on the pristine base, in a scratch
clone (SCRATCH, default OUTDIR/../series-git) that shares the pristine
repository's objects and has no work tree: the patch's edits of upstream
files plus the overlay files it declares, with the patch's subject and
description, a Signed-off-by: of the repository's user (git config
user.name, user.email), who is also the author.  The dates are the date of
the repository's HEAD commit, one second apart, so that the same commit
gives the same files.  Then git format-patch --cover-letter --base writes
OUTDIR, and the cover letter gets its subject and text from
patches/cover-letter.txt (first line: the subject).
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sync import (Failure, Index, check_declared, git, header_of,  # noqa: E402
                  overlay_files, series_entries)


def message_of(patch):
    """Subject and description of a patch file of patches/."""
    lines = header_of(patch).split('\n')
    subject = None
    body = []
    for i, line in enumerate(lines):
        if line.startswith('Subject:'):
            subject = line[len('Subject:'):].strip()
            if subject.startswith('[PATCH'):
                subject = subject.split(']', 1)[1].strip()
            rest = lines[i + 1:]
            break
    if not subject or subject.startswith('subsystem: Say what'):
        raise Failure('%s has no subject: its first line must be '
                      '"Subject: [PATCH] subsystem: What it does"' % os.path.relpath(patch))
    for line in rest:
        if line == '---':
            break
        body.append(line)
    body = '\n'.join(body).strip('\n')
    if not body:
        raise Failure('%s has no description: write it between the subject and "---"'
                      % os.path.relpath(patch))
    return subject, body


def identity(repo):
    name = git(repo, 'config', 'user.name', check=False).strip()
    email = git(repo, 'config', 'user.email', check=False).strip()
    if not name or not email:
        raise Failure('no git identity: set git config user.name and user.email '
                      '(they sign off the patches)')
    return name, email


def cover_text(repo, count):
    path = os.path.join(repo, 'patches', 'cover-letter.txt')
    if not os.path.exists(path):
        raise Failure('patches/cover-letter.txt is missing: its first line is the '
                      'subject of the series, the rest the text of the cover letter')
    with open(path) as f:
        text = f.read()
    subject, _, blurb = text.partition('\n')
    return subject.strip(), blurb.strip('\n')


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    repo, pristine, outdir = (os.path.abspath(a) for a in argv[:3])
    scratch = os.path.abspath(argv[3]) if len(argv) > 3 else \
        os.path.join(os.path.dirname(outdir), 'series-git')
    try:
        top = set(git(pristine, 'ls-tree', '--name-only', 'base').split())
        files = overlay_files(repo, None, top)
        check_declared(repo, files)
        by_name = {name: (name, full, mode) for name, full, mode in files}
        entries = series_entries(repo)
        if not entries:
            raise Failure('patches/series lists no patch')
        name, email = identity(repo)
        when = int(git(repo, 'log', '-1', '--format=%ct', 'HEAD').strip())
        subject, blurb = cover_text(repo, len(entries))

        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(['git', 'clone', '-q', '--shared', '--no-checkout', pristine, scratch],
                       check=True)
        base = git(scratch, 'rev-parse', 'base^{commit}').strip()
        base_tree = git(scratch, 'rev-parse', 'base^{tree}').strip()
        idx = Index(scratch)
        parent = base
        for n, (patch, declared) in enumerate(entries, 1):
            idx.apply(patch)
            idx.add([by_name[f] for f in declared], base_tree)
            tree = idx.write_tree()
            subj, body = message_of(patch)
            msg = '%s\n\n%s\n\nSigned-off-by: %s <%s>\n' % (subj, body, name, email)
            date = '@%d +0000' % (when + n)
            env = {'GIT_AUTHOR_NAME': name, 'GIT_AUTHOR_EMAIL': email,
                   'GIT_AUTHOR_DATE': date, 'GIT_COMMITTER_NAME': name,
                   'GIT_COMMITTER_EMAIL': email, 'GIT_COMMITTER_DATE': date}
            parent = git(scratch, 'commit-tree', tree, '-p', parent, inp=msg.encode(),
                         env=env).strip()
        git(scratch, 'update-ref', 'refs/heads/series', parent)

        shutil.rmtree(outdir, ignore_errors=True)
        env = {'GIT_COMMITTER_DATE': '@%d +0000' % when}
        git(scratch, '-c', 'core.abbrev=12', 'format-patch', '-q', '--cover-letter',
            '--base=%s' % base, '--no-signature', '-o', outdir, 'base..series', env=env)
        covers = [f for f in os.listdir(outdir) if f.startswith('0000-')]
        cover = os.path.join(outdir, covers[0])
        with open(cover) as f:
            text = f.read()
        text = text.replace('*** SUBJECT HERE ***', subject, 1)
        text = text.replace('*** BLURB HERE ***', blurb, 1)
        with open(cover, 'w') as f:
            f.write(text)
        os.rename(cover, os.path.join(outdir, '0000-cover-letter.patch'))
        print('==> series: %d patches on %s (%s), signed off by %s <%s>, in %s'
              % (len(entries), git(scratch, 'log', '-1', '--format=%s', base).strip(),
                 base[:12], name, email, os.path.relpath(outdir, repo)), file=sys.stderr)
        for f in sorted(os.listdir(outdir)):
            print('    ' + f, file=sys.stderr)
    except Failure as e:
        print('\nerror: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
