#!/bin/sh
# profile-guest.sh profiles a connector's WebAssembly code where it really runs: inside the hub,
# under `aquahub bench pipeline`, compiled by wazy. Go's profiler sees that code only as
# runtime._ExternalCode; this script names its functions.
#
# Usage: scripts/profile-guest.sh [http|sendgrid] [more bench pipeline flags]
#        (run from the module root; needs perf: apt-get install linux-perf)
#
# How: the hub is built with wazy's perfmap tag, so the process that compiles a module (the
# hub's compiling child, which has its own limits) writes /tmp/perf-<pid>.map with the
# address of every compiled function. The hub itself runs the same code from the compiled
# file the child left in the cache, mapped at another address, so each sample's address is
# moved by the difference between the two bases before it is named. The connector is built
# without -s -w so that its functions keep their names, and the cache is a fresh one, so
# that the module is compiled (and mapped) in this run.
set -eu
connector="${1:-http}"
[ $# -gt 0 ] && shift
command -v perf >/dev/null 2>&1 || { echo "profile-guest: needs perf (apt-get install linux-perf)" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "profile-guest: needs python3" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/connectors" "$tmp/cache"
go build -tags perfmap -o "$tmp/aquahub" ./cmd/aquahub
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "$tmp/connectors/$connector.wasm" "./connectors/$connector"
XDG_CACHE_HOME="$tmp/cache" perf record -q -F 1999 -o "$tmp/perf.data" -- \
	"$tmp/aquahub" bench pipeline --connector "$connector" --connectors "$tmp/connectors" "$@"
perf script -i "$tmp/perf.data" --show-mmap-events -F pid,ip,dso 2>/dev/null >"$tmp/samples"
python3 - "$tmp/samples" "$tmp/cache" <<'EOF'
import bisect, collections, os, re, sys

samples, cache = sys.argv[1], sys.argv[2]
maps = {}    # pid -> (base, size) of the compiled file's executable mapping
ips = collections.defaultdict(list)
total = collections.Counter()
mmap = re.compile(r'PERF_RECORD_MMAP2? (\d+)/\d+: \[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ \S+ .*\]: r-xp (\S+)')
for line in open(samples, errors='replace'):
    m = mmap.search(line)
    if m:
        if m.group(4).startswith(cache):
            maps[int(m.group(1))] = (int(m.group(2), 16), int(m.group(3), 16))
        continue
    f = line.split()
    if len(f) < 3 or not f[0].isdigit():
        continue
    pid = int(f[0])
    total[pid] += 1
    if f[2].startswith('(' + cache):
        ips[pid].append(int(f[1], 16))
if not ips:
    sys.exit('profile-guest: no samples in compiled connector code (did the bench run?)')
hub = max(ips, key=lambda p: len(ips[p]))
base, _ = maps[hub]
# The compiling child's map: one region of function entries as long as the mapping.
entries = []
for pid in total:
    path = f'/tmp/perf-{pid}.map'
    if not os.path.exists(path):
        continue
    if pid == hub:
        os.remove(path)
        continue
    es = []
    for l in open(path):
        p = l.rstrip('\n').split(' ', 2)
        if len(p) == 3 and ':::::' in p[2]:
            es.append((int(p[0], 16), p[2].split(':::::')[0].split('].', 1)[-1]))
    if len(es) > len(entries):
        entries = es
    os.remove(path)
entries.sort()
starts = [e[0] for e in entries]
child_base = starts[0] & ~0xfff
named = collections.Counter()
for ip in ips[hub]:
    i = bisect.bisect_right(starts, ip - base + child_base) - 1
    named[entries[i][1] if i >= 0 else '?'] += 1
n = len(ips[hub])
print(f'guest code: {n} of {total[hub]} samples of the hub ({100*n/total[hub]:.1f}%); by function, share of the guest:')
for name, k in named.most_common(40):
    print(f'{100*k/n:6.1f}%  {name}')
EOF
