#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the "ctxbench:" lines of a kernel log into the tables of make bench.

    bench.py KERNEL_LOG

Times in the log are nanoseconds, printed here in microseconds; every
ratio comes from the same run.
"""

import re
import sys

LINE = re.compile(r'ctxbench: (\w+) (.*)$')


def parse(path):
    rows = {'latency': [], 'scaling': [], 'dma': [], 'memory': []}
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.search(line)
            if not m:
                continue
            fields = dict(kv.split('=', 1) for kv in m.group(2).split())
            rows.setdefault(m.group(1), []).append(fields)
    return rows


def us(ns):
    return '%.1f' % (int(ns) / 1000)


def spread(triple):
    med, p10, p90 = triple.split('/')
    return '%s (%s-%s)' % (us(med), us(p10), us(p90))


def med(triple):
    return int(triple.split('/')[0])


def table(head, rows):
    out = ['| ' + ' | '.join(head) + ' |', '|' + '|'.join(' --- ' for _ in head) + '|']
    out += ['| ' + ' | '.join(str(c) for c in r) + ' |' for r in rows]
    return '\n'.join(out)


def verdict(ok):
    return 'met' if ok else 'NOT met'


def main(path):
    rows = parse(path)
    if not rows['latency']:
        print('error: no "ctxbench:" results in %s' % path, file=sys.stderr)
        return 1
    lat = {r['model']: r for r in rows['latency']}
    n = rows['latency'][0]['n']

    print('Create and destroy, microseconds: median (p10-p90), n=%s each, '
          'models taking turns' % n)
    print()
    print(table(['model', 'create', 'destroy', 'create+destroy', 'x floor', 'x platform'],
                [[r['model'], spread(r['create']), spread(r['destroy']), spread(r['both']),
                  r['floor'], r['platform']] for r in rows['latency']]))
    print()
    for r in rows.get('floorsplit', []):
        print('The floor step by step, microseconds (median, n=%s): create = the IOMMU '
              'core\'s bus notifier (iommu_probe_device()) %s + the rest of '
              'platform_device_add() %s; destroy = the notifier (iommu_release_device()) %s '
              '+ the rest of platform_device_unregister() %s'
              % (r['n'], us(r['iommu_add']), us(r['add']), us(r['iommu_remove']),
                 us(r['remove'])))
        print()
    for r in rows.get('pieces', []):
        print('Pieces of context_device_create() beyond the floor, timed alone, microseconds '
              '(median, n=%s): of_map_iommu_id() %s, a bus walk by name on an empty bus %s, '
              'iommu_device_use_default_domain() + unuse %s'
              % (r['n'], us(r['of_map_iommu_id']), us(r['name_check_empty']),
                 us(r['use_unuse_default_domain'])))
        print()

    levels = []
    scal = {}
    for r in rows['scaling']:
        e = int(r['existing'])
        if e not in levels:
            levels.append(e)
        scal.setdefault(r['model'], {})[e] = r
    if scal:
        print('Create (and destroy) of one more device with N already there, microseconds '
              '(median, n=%s)' % rows['scaling'][0]['n'])
        print()
        head = ['model'] + ['N=%d' % e for e in levels] + ['x at %d / at %d' % (levels[-1], 64)]
        body = []
        for model, by in scal.items():
            c = [int(by[e]['create']) for e in levels]
            d = [int(by[e]['destroy']) for e in levels]
            i64 = levels.index(64)
            body.append([model + ' create'] + [us(x) for x in c] + ['%.2f' % (c[-1] / c[i64])])
            body.append([model + ' destroy'] + [us(x) for x in d] + ['%.2f' % (d[-1] / d[i64])])
        if 'map' in scal and 'floor' in scal:
            added = [int(scal['map'][e]['create']) - int(scal['floor'][e]['create'])
                     for e in levels]
            body.append(['map - floor create (what the bus adds)'] + [us(x) for x in added] +
                        ['%.2f' % (added[-1] / added[levels.index(64)])])
            for key, what in (('namewalk', 'back to back'),
                              ('namewalk_cold', 'after a create+destroy')):
                walk = [int(scal['map'][e].get(key, 0)) for e in levels]
                body.append(['bus walk by name (bus_find_device(), miss; the name check before its index), %s' % what] +
                            [us(x) for x in walk] +
                            ['%.2f' % (walk[-1] / max(walk[levels.index(64)], 1))])
            beside = [int(scal['map'][e].get('floor_beside', 0)) for e in levels]
            body.append(['floor create with these N context devices there'] +
                        [us(x) for x in beside] +
                        ['%.2f' % (beside[-1] / max(beside[levels.index(64)], 1))])
            after = [int(scal['map'][e].get('floor_after_walk', 0)) for e in levels]
            body.append(['floor create right after that walk'] + [us(x) for x in after] +
                        ['%.2f' % (after[-1] / max(after[levels.index(64)], 1))])
        print(table(head, body))
        print()

    if rows['dma']:
        print('dma_map_page() + dma_unmap_page(), one pair, nanoseconds (median of %s pairs '
              'in batches); throughput window / no window' % rows['dma'][0]['n'])
        print()
        body = []
        for r in rows['dma']:
            size = int(r['size'])
            mib = lambda ns: '%.0f' % (size / (int(ns) / 1e9) / 2**20)
            body.append([r['mode'], '%d KiB' % (size // 1024), r['nowindow'], mib(r['nowindow']),
                         r['window'], mib(r['window']), r['ratio']])
        print(table(['cache sync', 'size', 'no window ns', 'MiB/s', 'window ns', 'MiB/s',
                     'window / no window'], body))
        print()

    if rows['memory']:
        print('Memory per device, bytes, from the kernel\'s counters before and after n=%s '
              'creates (vmstat NR_SLAB_*_B, NR_IOMMU_PAGES, NR_FREE_PAGES; pcpu_nr_pages())'
              % rows['memory'][0]['n'])
        print()
        print(table(['model', 'slab', 'IOMMU pages', 'per-CPU', 'sum', 'free pages drop'],
                    [[r['model'], r['slab'], r['iommu'], r['percpu'],
                      int(r['slab']) + int(r['iommu']) + int(r['percpu']), r['total']]
                     for r in rows['memory']]))
        print()

    print('Goals (ratios from this run)')
    print()
    goals = []
    if 'map' in lat and 'floor' in lat:
        for m in ('map', 'map+window', 'child-node'):
            if m in lat:
                goals.append(['%s create+destroy <= 1.10x floor' % m, lat[m]['floor'],
                              verdict(float(lat[m]['floor']) <= 1.10)])
        for m in ('map', 'map+window', 'child-node'):
            if m in lat:
                goals.append(['%s create+destroy <= 0.6x platform' % m, lat[m]['platform'],
                              verdict(float(lat[m]['platform']) <= 0.6)])
    if 'map' in scal and 64 in scal['map'] and levels[-1] != 64:
        top = levels[-1]
        r = int(scal['map'][top]['create']) / int(scal['map'][64]['create'])
        goals.append(['map create at %d <= 1.2x at 64' % top, '%.2f' % r, verdict(r <= 1.2)])
        if 'floor' in scal:
            a = [int(scal['map'][e]['create']) - int(scal['floor'][e]['create'])
                 for e in (64, top)]
            if a[0] > 0 and a[1] > 0:
                r = a[1] / a[0]
                goals.append(['what the bus adds at %d <= 1.2x at 64' % top, '%.2f' % r,
                              verdict(r <= 1.2)])
            else:
                goals.append(['what the bus adds at %d <= 1.2x at 64' % top, 'n/a',
                              'the floor costs more than map'])
    for r in rows['dma']:
        goals.append(['window DMA throughput >= 0.95x, %s %d KiB' %
                      (r['mode'], int(r['size']) // 1024), r['ratio'],
                      verdict(float(r['ratio']) >= 0.95)])
    for m in ('map', 'map+window', 'child-node'):
        if m in lat:
            c, d = med(lat[m]['create']), med(lat[m]['destroy'])
            goals.append(['%s destroy <= create' % m, '%.2f' % (d / c), verdict(d <= c)])
    print(table(['goal', 'ratio', ''], goals))
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
