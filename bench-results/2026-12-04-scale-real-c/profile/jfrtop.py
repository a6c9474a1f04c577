import sys, re, collections, subprocess
# top frames of jdk.ExecutionSample: self (top of stack) and by thread-name prefix
f = sys.argv[1]
out = subprocess.run(["jfr", "print", "--events", sys.argv[2] if len(sys.argv) > 2 else "jdk.ExecutionSample", "--stack-depth", "3", f], capture_output=True, text=True).stdout
samples = out.split((sys.argv[2] if len(sys.argv) > 2 else "jdk.ExecutionSample") + " {")
top = collections.Counter(); threads = collections.Counter(); n = 0
for s in samples[1:]:
    m = re.search(r'stackTrace = \[\s*\n\s*(.+?)\n', s)
    t = re.search(r'sampledThread = "([^"]+)"', s)
    if not m: continue
    n += 1
    frame = re.sub(r'\s+line: \d+.*', '', m.group(1).strip())
    top[frame] += 1
    if t: threads[re.sub(r'[-#]?\d+$', '', t.group(1))] += 1
print(f"{n} samples")
print("top frames (self):")
for k, v in top.most_common(15): print(f"  {100*v/n:5.1f} %  {k}")
print("by thread:")
for k, v in threads.most_common(10): print(f"  {100*v/n:5.1f} %  {k}")
