/* The kernel workload with nothing but a binary heap: the speed a discrete-event loop cannot
 * beat on this machine. N nodes, M messages in flight; each delivery sends one new message to a
 * pseudo-random node after a pseudo-random latency of 1-10 ms (integer nanoseconds, SplitMix64).
 * No processes, no hashing, no trace. `agentos bench kernel --peers` compiles and runs it.
 * Usage: bare_heap NODES IN_FLIGHT DELIVERIES; prints one line: "deliveries/s=<rate>". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct event { uint64_t at, order; uint32_t node, hops; };

static struct event *heap;
static size_t size;
static uint64_t stream = 1;

static uint64_t next_random(void) {
    uint64_t z = (stream += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int earlier(const struct event *a, const struct event *b) {
    return a->at != b->at ? a->at < b->at : a->order < b->order;
}

static void push(struct event e) {
    size_t hole = size++;
    while (hole > 0 && earlier(&e, &heap[(hole - 1) / 2])) {
        heap[hole] = heap[(hole - 1) / 2];
        hole = (hole - 1) / 2;
    }
    heap[hole] = e;
}

static struct event pop(void) {
    struct event first = heap[0], moved = heap[--size];
    size_t hole = 0;
    for (;;) {
        size_t child = 2 * hole + 1;
        if (child >= size) break;
        if (child + 1 < size && earlier(&heap[child + 1], &heap[child])) child++;
        if (!earlier(&heap[child], &moved)) break;
        heap[hole] = heap[child];
        hole = child;
    }
    heap[hole] = moved;
    return first;
}

int main(int argc, char **argv) {
    uint32_t nodes = argc > 1 ? (uint32_t)atoi(argv[1]) : 64;
    uint32_t in_flight = argc > 2 ? (uint32_t)atoi(argv[2]) : 2048;
    uint64_t deliveries = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000000;
    uint64_t order = 0, checksum = 0;
    heap = malloc(sizeof *heap * (in_flight + 1));
    uint64_t *received = calloc(nodes, sizeof *received);
    if (!heap || !received || nodes == 0) return 2;
    for (uint32_t k = 0; k < in_flight; k++)
        push((struct event){1000000 + next_random() % 9000000, order++, k % nodes, 0});
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (uint64_t i = 0; i < deliveries; i++) {
        struct event e = pop();
        received[e.node]++;
        checksum += e.hops;
        push((struct event){e.at + 1000000 + next_random() % 9000000, order++, (uint32_t)(next_random() % nodes), e.hops + 1});
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("deliveries/s=%.0f (checksum %llu)\n", (double)deliveries / seconds, (unsigned long long)(checksum + received[0]));
    return 0;
}
