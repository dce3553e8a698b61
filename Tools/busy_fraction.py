"""How busy a command keeps the machine's cores, and where its threads wait.

    python3 Tools/busy_fraction.py [--cores N] -- COMMAND [ARGS...]

Prints the command's wall time, its CPU time (user + sys, from wait4), the busy fraction
(user + sys) / (wall x cores), and, per thread (sampled from /proc/PID/task/*/schedstat every
10 ms, so threads that live less than that are missed), the seconds on a CPU and the seconds it
was runnable but waiting for a CPU that another process had (the run queue), and the rest of its life, blocked (on a socket, a
lock, a sleep). On a shared machine the run-queue figure tells contention from idleness: the
busy fraction falls when other processes take the cores, the blocked time does not. Linux only;
no dependencies.
"""
import argparse
import os
import subprocess
import sys
import time


def sample(pid, threads, lives, now):
    """Updates threads[tid] = (name, cpu ns, run-queue ns) from /proc, and lives[tid] = [first
    seen, last seen] (seconds)."""
    base = f"/proc/{pid}/task"
    try:
        tids = os.listdir(base)
    except OSError:
        return
    for tid in tids:
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                on_cpu, waiting, _ = (int(x) for x in f.read().split())
            with open(f"{base}/{tid}/comm") as f:
                name = f.read().strip()
        except (OSError, ValueError):
            continue
        threads[int(tid)] = (name, on_cpu, waiting)
        lives.setdefault(int(tid), [now, now])[1] = now


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=os.cpu_count(), help="cores the command may use (default: all)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        sys.exit("usage: busy_fraction.py [--cores N] -- COMMAND [ARGS...]")

    threads, lives = {}, {}
    t0 = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    status = None
    while status is None:
        sample(child.pid, threads, lives, time.monotonic() - t0)
        pid, status_code, usage = os.wait4(child.pid, os.WNOHANG)
        if pid == child.pid:
            status = status_code
            break
        time.sleep(0.01)
    wall = time.monotonic() - t0
    cpu = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)

    print(f"exit {code}; wall {wall:.2f} s; CPU {cpu:.2f} s (user {usage.ru_utime:.2f}, sys {usage.ru_stime:.2f}) "
          f"on {args.cores} core(s): busy fraction {cpu / (wall * args.cores):.2f}")
    waited = sum(w for _, _, w in threads.values()) / 1e9
    sampled = sum(c for _, c, _ in threads.values()) / 1e9
    print(f"threads seen: {len(threads)}; on a CPU {sampled:.2f} s, runnable but waiting for a CPU {waited:.2f} s "
          f"(busy fraction had no other process run: {(sampled + waited) / (wall * args.cores):.2f} at most)")
    print(f"{'tid':>8} {'name':<16}{'lived s':>9}{'on CPU s':>10}{'run-queue s':>13}{'blocked s':>11}{'blocked %':>11}")
    for tid, (name, on_cpu, waiting) in sorted(threads.items(), key=lambda kv: -kv[1][1]):
        if on_cpu / 1e9 < 0.01 * wall:
            continue
        first, last = lives[tid]
        lived = last - first + 0.01  # sampled every 10 ms
        blocked = max(0.0, lived - on_cpu / 1e9 - waiting / 1e9)
        print(f"{tid:>8} {name:<16}{lived:>9.2f}{on_cpu / 1e9:>10.2f}{waiting / 1e9:>13.2f}{blocked:>11.2f}{100 * blocked / lived:>10.0f}%")
    sys.exit(code)


if __name__ == "__main__":
    main()
