"""The kernel workload in SimPy, the discrete-event engine a Python user would reach for.

N nodes, M messages in flight; each delivery sends one new message to a pseudo-random node after
a pseudo-random latency of 1-10 ms (integer nanoseconds, SplitMix64). `agentos bench kernel
--peers` runs it when SimPy is installed (pip install simpy==4.1.2).
Usage: python3 simpy_kernel.py NODES IN_FLIGHT DELIVERIES; prints "deliveries/s=<rate>".
"""
import sys
import time

import simpy

MASK = (1 << 64) - 1


def main() -> None:
    nodes, in_flight, deliveries = (int(arg) for arg in sys.argv[1:4])
    env = simpy.Environment()
    inboxes = [simpy.Store(env) for _ in range(nodes)]
    stream = [1]
    received = [0]

    def next_random() -> int:
        stream[0] = (stream[0] + 0x9E3779B97F4A7C15) & MASK
        z = stream[0]
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def send(node: int, hops: int) -> None:
        arrival = env.timeout(1_000_000 + next_random() % 9_000_000)
        arrival.callbacks.append(lambda _: inboxes[node].put(hops))

    def run(node: int):
        while True:
            hops = yield inboxes[node].get()
            received[0] += 1
            send(next_random() % nodes, hops + 1)

    for node in range(nodes):
        env.process(run(node))
    for k in range(in_flight):
        send(k % nodes, 0)
    start = time.perf_counter()
    while received[0] < deliveries:
        env.step()
    seconds = time.perf_counter() - start
    print(f"deliveries/s={received[0] / seconds:.0f}")


main()
