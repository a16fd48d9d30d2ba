/*
 * memory_reach: what random loads cost on this machine as the region they fall in grows, with the
 * region in 2 MiB pages (MADV_HUGEPAGE) or in 4 KiB pages: independent loads in passes of 64 (as the
 * pipeline's look-ahead issues them) and dependent ones (a pointer chase). Where the cost rises with the
 * region beyond what the caches explain, address translation is the limit.
 *
 *   memory_reach            prints one line per region size and page size: ns per load
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rng(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

int main(void)
{
    const size_t sizes[] = { 1u << 20, 4u << 20, 8u << 20, 16u << 20, 32u << 20, 64u << 20, 128u << 20 };
    for (int huge = 1; huge >= 0; huge--)
    {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        {
            const size_t length = sizes[s];
            const size_t lines = length / 64;
            uint64_t *block = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (block == MAP_FAILED) { perror("mmap"); return 1; }
            madvise(block, length, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
            /* a random cycle through all lines for the chase; the passes use the same slots */
            uint32_t *order = malloc(lines * 4);
            for (size_t i = 0; i < lines; i++) order[i] = (uint32_t)i;
            uint64_t r = 0x9E3779B97F4A7C15ull;
            for (size_t i = lines - 1; i > 0; i--) { size_t j = rng(&r) % (i + 1); uint32_t t = order[i]; order[i] = order[j]; order[j] = t; }
            for (size_t i = 0; i < lines; i++) block[(size_t)order[i] * 8] = (uint64_t)order[(i + 1) % lines] * 8;
            free(order);
            const size_t loads = 4u << 20;
            /* independent: 64 random slots a pass, their loads summed */
            uint64_t sum = 0, t0 = now_ns();
            uint32_t idx[64];
            for (size_t done = 0; done < loads; done += 64)
            {
                for (int k = 0; k < 64; k++) idx[k] = (uint32_t)(rng(&r) % lines);
                for (int k = 0; k < 64; k++) sum += block[(size_t)idx[k] * 8];
            }
            const double independent = (double)(now_ns() - t0) / loads;
            /* dependent: each load's address is the previous load's value */
            uint64_t at = 0;
            t0 = now_ns();
            for (size_t done = 0; done < loads / 8; done++) at = block[at];
            const double dependent = (double)(now_ns() - t0) / (loads / 8);
            printf("region %4zu MiB  %s pages  independent %6.1f ns/load  dependent %6.1f ns/load  (%llu)\n",
                length >> 20, huge ? "2 MiB" : "4 KiB", independent, dependent, (unsigned long long)((sum + at) & 1));
            munmap(block, length);
        }
    }
    return 0;
}
