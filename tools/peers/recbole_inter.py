#!/usr/bin/env python3
"""Writes a dataset as a RecBole atomic .inter file with exactly allmrec's leave-one-out order.

Usage:
  recbole_inter.py ml-100k  ../shared/datasets/ml-100k/u.data               OUT_DIR   # -> OUT_DIR/ml100k/ml100k.inter
  recbole_inter.py games    ../shared/datasets/amazon2018_video_games/Games-6k.test.inter OUT_DIR  # -> OUT_DIR/games/games.inter

allmrec sorts each user's interactions by time, ties kept in file order (a stable sort). RecBole
sorts by its timestamp column too, but ml-100k has many equal timestamps per user and RecBole's
tie order is not file order, so the last two items (valid, test) could differ. Writing each
interaction's position in allmrec's order as the timestamp makes the two splits identical.
Video_Games has no timestamps: the order is the file's item_id_list then the target.
"""
import os, sys

kind, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
seqs = {}
if kind == 'ml-100k':
    name = 'ml100k'
    rows = []
    with open(src) as f:
        for n, line in enumerate(f):
            u, i, r, t = line.rstrip('\n').split('\t')
            rows.append((u, int(t), n, i))
    for u, t, n, i in sorted(rows, key=lambda x: (x[1], x[2])):  # stable by time, then file order
        seqs.setdefault(u, []).append(i)
elif kind == 'games':
    name = 'games'
    with open(src) as f:
        header = f.readline().rstrip('\n').split('\t')
        cols = {h.split(':')[0]: k for k, h in enumerate(header)}
        for line in f:
            p = line.rstrip('\n').split('\t')
            seqs[p[cols['user_id']]] = p[cols['item_id_list']].split() + [p[cols['item_id']]]
else:
    sys.exit(f'unknown kind {kind}; use ml-100k or games')
os.makedirs(os.path.join(out, name), exist_ok=True)
with open(os.path.join(out, name, f'{name}.inter'), 'w') as g:
    g.write('user_id:token\titem_id:token\ttimestamp:float\n')
    for u, items in seqs.items():
        for k, i in enumerate(items):
            g.write(f'{u}\t{i}\t{k}\n')
print(f'{name}: {len(seqs)} users, {sum(len(s) for s in seqs.values())} interactions')
