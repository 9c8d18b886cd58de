/* FNV-1a 64 throughput reference for bench/src/suites/fnv.mjs: the plain byte loop, built -O3.
 * Usage: fnv1a64 SIZE_BYTES MIN_MS ROUNDS -> prints one MB/s figure per round. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  size_t size = strtoull(argv[1], NULL, 10);
  double min_ms = atof(argv[2]);
  int rounds = atoi(argv[3]);
  unsigned char *buf = malloc(size);
  for (size_t i = 0; i < size; i++) buf[i] = (unsigned char)(i * 31 + 7);
  volatile uint64_t sink = 0;
  for (int r = 0; r < rounds; r++) {
    double start = now_ms(), elapsed;
    uint64_t bytes = 0;
    do {
      buf[bytes % size] ^= 1; /* the input changes each call so the loop cannot be hoisted */
      sink ^= fnv1a64(buf, size);
      bytes += size;
      elapsed = now_ms() - start;
    } while (elapsed < min_ms);
    printf("%.1f\n", bytes / 1e6 / (elapsed / 1e3));
  }
  free(buf);
  return (int)(sink & 0);
}
