/*
 * pipeline_ceiling: the pipeline's fast path in C, the ceiling a JVM build of it can aim at on this
 * machine, as nulltun is the ceiling of any TUN forwarder. No I/O: the same established TCP ACKs as
 * PipelineBenchmark, the same conntrack layout (buckets of tagged link words, 64-byte entries with both
 * directions' nodes, status, deadline, pending counts), the same work per packet: validate IPv4 and TCP
 * with both checksums, hash, look up, count with an atomic add, TCP state and deadline, rewrite with
 * incremental checksums (RFC 1624).
 *
 *   pipeline_ceiling CONNECTIONS MODE SECONDS
 *   MODE: single    one packet at a time, each lookup's misses in turn
 *         passes    64 packets: parse all, then load their buckets, nodes, second and third nodes in passes
 *                   of plain loads (what natgw's Java look-ahead does), then the rest of the path
 *         prefetch  the same passes with prefetch instructions, which retire without waiting for the line
 * Prints one line per second (Mpps) and the median.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BATCH 64
#define PACKET_LENGTH 40
#define RECORD 20
#define ENTRY 64
#define REF_MASK 0xFFFFFFFFull
#define PENDING_PACKET (1u << 22)
#define FOLD_PACKETS 512

static uint8_t *table;
static uint64_t *buckets;
static uint8_t *entries;
static uint64_t (*totals)[2];
static uint64_t bucket_count;
static inline uint32_t bucket_of(uint32_t h) { return (uint32_t)(((uint64_t)h * bucket_count) >> 32); }
static const uint64_t seed = 0x5DEECE66Dull;
static uint8_t tcp_next[2 * 512];
static int timeout_ms[16];
static uint64_t dropped, found;

static inline uint64_t load_be64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v); }
static inline uint32_t load_be32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v); }
static inline uint16_t load_be16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return __builtin_bswap16(v); }
static inline void store_be32(uint8_t *p, uint32_t x) { x = __builtin_bswap32(x); memcpy(p, &x, 4); }
static inline void store_be16(uint8_t *p, uint16_t x) { x = __builtin_bswap16(x); memcpy(p, &x, 2); }

static inline uint32_t hash(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ seed) * 0x9E3779B97F4A7C15ull;
    h ^= b * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

static inline uint8_t *node_line(uint32_t ref) { return entries + (size_t)((ref - 1) >> 1) * ENTRY; }
static inline uint64_t *node_link(uint32_t ref) { return (uint64_t *)(node_line(ref) + ((ref - 1) & 1) * 8); }
static inline uint64_t *node_tuple(uint32_t ref) { return (uint64_t *)(node_line(ref) + 16 + ((ref - 1) & 1) * 16); }

static void link_node(uint32_t entry, int dir, uint64_t a, uint64_t b)
{
    uint32_t ref = entry * 2 + dir + 1;
    uint64_t *t = node_tuple(ref);
    t[0] = a;
    t[1] = b;
    uint64_t *prev = &buckets[bucket_of(hash(a, b))];
    while ((*prev & REF_MASK) != 0) prev = node_link((uint32_t)(*prev & REF_MASK));
    *prev = ref;
}

static uint32_t fold(uint64_t sum)
{
    sum = (sum & 0xFFFFFFFF) + (sum >> 32);
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint32_t)((sum & 0xFFFF) + (sum >> 16));
}
static inline uint64_t sum32(uint64_t w) { return (w >> 32) + (w & 0xFFFFFFFF); }
static inline uint32_t delta32(uint32_t old, uint32_t new)
{
    uint32_t s = (~old >> 16 & 0xFFFF) + (~old & 0xFFFF) + (new >> 16) + (new & 0xFFFF);
    s = (s & 0xFFFF) + (s >> 16);
    return (s & 0xFFFF) + (s >> 16);
}
static inline uint32_t delta16(uint32_t old, uint32_t new)
{
    uint32_t s = (~old & 0xFFFF) + (new & 0xFFFF);
    return (s & 0xFFFF) + (s >> 16);
}
static inline uint32_t add_delta(uint32_t a, uint32_t b)
{
    uint32_t s = a + b;
    s = (s & 0xFFFF) + (s >> 16);
    return (s & 0xFFFF) + (s >> 16);
}
static inline uint32_t apply_delta(uint32_t checksum, uint32_t delta)
{
    uint32_t s = (~checksum & 0xFFFF) + delta;
    s = (s & 0xFFFF) + (s >> 16);
    s = (s & 0xFFFF) + (s >> 16);
    return ~s & 0xFFFF;
}
static inline uint32_t changed(uint32_t x, uint32_t y) { return x != y ? 0xFFFFFFFF : 0; }

static void put_checksums(uint8_t *p)
{
    p[10] = p[11] = 0;
    uint64_t s = 0;
    for (int i = 0; i < 20; i += 4) s += load_be32(p + i);
    store_be16(p + 10, ~fold(s) & 0xFFFF);
    p[36] = p[37] = 0;
    s = (load_be32(p + 12) >> 16) + (load_be32(p + 12) & 0xFFFF) + (load_be32(p + 16) >> 16) + (load_be32(p + 16) & 0xFFFF) + 6 + 20;
    for (int i = 20; i < 40; i += 4) s += load_be32(p + i);
    store_be16(p + 36, ~fold(s) & 0xFFFF);
}

/* Steps 1, 2: validation, flow key and bucket; 0 if the packet is to be dropped. */
static inline int parse(const uint8_t *p, int length, uint64_t *ka, uint64_t *kb, uint32_t *bucket, uint32_t *flags)
{
    if (length < 20) return 0;
    uint64_t ip0 = load_be64(p), ip1 = load_be64(p + 8);
    uint32_t dst = load_be32(p + 16);
    if (ip0 >> 60 != 4) return 0;
    uint32_t ihl = (uint32_t)(ip0 >> 56 & 0xF) << 2;
    uint32_t total = (uint32_t)(ip0 >> 32 & 0xFFFF);
    if (ihl != 20 || total < ihl || total > (uint32_t)length) return 0; /* options: the slow path (none here) */
    if ((~fold(sum32(ip0) + sum32(ip1) + dst) & 0xFFFF) != 0) return 0;
    if (ip1 >> 56 == 0) return 0;
    if ((ip0 & 0x3FFF) != 0) return 0;
    if ((ip1 >> 48 & 0xFF) != 6) return 0;
    uint32_t src = (uint32_t)ip1;
    uint32_t l4len = total - ihl;
    if (l4len < 20) return 0;
    const uint8_t *t = p + ihl;
    uint64_t t0 = load_be64(t), t1 = load_be64(t + 8);
    uint32_t hl = (uint32_t)(t1 >> 28 & 0xF) << 2;
    if (hl < 20 || hl > l4len) return 0;
    uint64_t s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + 6 + l4len + sum32(t0) + sum32(t1) + load_be32(t + 16);
    if (l4len != 20) return 0; /* payload: the slow path (none here) */
    if ((~fold(s) & 0xFFFF) != 0) return 0;
    *ka = (uint64_t)src << 32 | dst;
    *kb = 6ull << 32 | (t0 >> 32);
    *bucket = bucket_of(hash(*ka, *kb));
    *flags = (uint32_t)(t1 >> 16 & 0xFF);
    return 1;
}

/* Steps 3 to 6 for a parsed packet. */
static inline int act(uint8_t *p, uint64_t a, uint64_t b, uint32_t bucket, uint32_t flags, int now_ms)
{
    uint32_t ref = (uint32_t)(__atomic_load_n(&buckets[bucket], __ATOMIC_ACQUIRE) & REF_MASK);
    while (ref != 0)
    {
        uint64_t *t = node_tuple(ref);
        if (t[0] == a && t[1] == b) break;
        ref = (uint32_t)(__atomic_load_n(node_link(ref), __ATOMIC_ACQUIRE) & REF_MASK);
    }
    if (ref == 0) return 0;
    found++;
    uint8_t *e = node_line(ref);
    int dir = (ref - 1) & 1;
    uint32_t status = __atomic_load_n((uint32_t *)(e + 48), __ATOMIC_ACQUIRE);
    if ((status & 7) != 2) return 0;
    uint64_t *other = (uint64_t *)(e + 16 + (dir ^ 1) * 16);
    uint64_t oa = other[0], ob = other[1];
    /* 5. track */
    uint32_t *pending = (uint32_t *)(e + 56 + dir * 4);
    uint32_t total = load_be16(p + 2);
    uint32_t count = __atomic_add_fetch(pending, PENDING_PACKET | total, __ATOMIC_SEQ_CST);
    if (count >> 22 >= FOLD_PACKETS)
    {
        uint32_t taken = __atomic_exchange_n(pending, 0, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&totals[(ref - 1) >> 1][dir], taken >> 22, __ATOMIC_SEQ_CST);
    }
    uint32_t state = status >> 8 & 0xF;
    uint32_t next = tcp_next[dir << 9 | (flags & 0x17) << 4 | state];
    uint32_t update = (status & ~0xF00u) | next << 8 | (dir ? 8 : 0);
    if (update != status) __atomic_compare_exchange_n((uint32_t *)(e + 48), &status, update, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    int deadline = now_ms + timeout_ms[next];
    int *dl = (int *)(e + 52);
    if (deadline - __atomic_load_n(dl, __ATOMIC_RELAXED) > 1000) __atomic_store_n(dl, deadline, __ATOMIC_RELEASE);
    /* 6. rewrite to the inverse of the other direction's tuple */
    uint32_t src = (uint32_t)(a >> 32), dst = (uint32_t)a, nsrc = (uint32_t)oa, ndst = (uint32_t)(oa >> 32);
    uint32_t sport = (uint32_t)(b >> 16 & 0xFFFF), dport = (uint32_t)(b & 0xFFFF);
    uint32_t nsport = (uint32_t)(ob & 0xFFFF), ndport = (uint32_t)(ob >> 16 & 0xFFFF);
    uint32_t d = add_delta(delta32(src, nsrc) & changed(src, nsrc), delta32(dst, ndst) & changed(dst, ndst));
    store_be32(p + 12, nsrc);
    store_be32(p + 16, ndst);
    store_be16(p + 10, (uint16_t)apply_delta(load_be16(p + 10), d));
    uint32_t l4 = add_delta(add_delta(d, delta16(sport, nsport) & changed(sport, nsport)), delta16(dport, ndport) & changed(dport, ndport));
    store_be16(p + 20, (uint16_t)nsport);
    store_be16(p + 22, (uint16_t)ndport);
    store_be16(p + 36, (uint16_t)apply_delta(load_be16(p + 36), l4));
    return 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rng(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static int cmp(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return a < b ? -1 : a > b; }

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: %s CONNECTIONS single|passes|prefetch SECONDS\n", argv[0]); return 2; }
    const uint32_t n = (uint32_t)atoi(argv[1]);
    const char *mode = argv[2];
    const int seconds = atoi(argv[3]);
    const int single = !strcmp(mode, "single"), prefetch = !strcmp(mode, "prefetch");
    if (!single && !prefetch && strcmp(mode, "passes")) { fprintf(stderr, "mode must be single, passes or prefetch: %s\n", mode); return 2; }
    const uint32_t capacity = n + 4096;
    uint32_t nb = (uint32_t)((uint64_t)capacity * 11 / 4); /* as ConntrackTable.bucketCount */
    if (nb < 8) nb = 8;
    bucket_count = nb;
    size_t length = (size_t)nb * 8 + (size_t)capacity * (ENTRY + 48);
    length = (length + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    table = aligned_alloc(2u << 20, length);
    if (!table) { perror("aligned_alloc"); return 1; }
    madvise(table, length, MADV_HUGEPAGE);
    memset(table, 0, length);
    buckets = (uint64_t *)table;
    entries = table + (size_t)nb * 8;
    totals = (uint64_t (*)[2])(entries + (size_t)capacity * ENTRY);

    /* the kernel-shaped TCP table's effect on an established connection: ACKs keep ESTABLISHED (3) */
    for (int i = 0; i < 2 * 512; i++) tcp_next[i] = (uint8_t)(i & 0xF);
    for (int i = 0; i < 16; i++) timeout_ms[i] = 432000 * 1000 / 4;

    const uint32_t pool = 198u << 24 | 51 << 16 | 100 << 8 | 1;
    uint32_t *clients = malloc(n * 4), *servers = malloc(n * 4), *nat = malloc(n * 4);
    for (uint32_t i = 0; i < n; i++)
    {
        clients[i] = (10u << 24) + i + 1;
        servers[i] = (203u << 24 | 113 << 8) + i % 200;
        nat[i] = 1024 + i / 200;
        uint64_t oa = (uint64_t)clients[i] << 32 | servers[i], ob = 6ull << 32 | 40000u << 16 | 443;
        uint64_t ra = (uint64_t)servers[i] << 32 | pool, rb = 6ull << 32 | 443u << 16 | nat[i];
        *(uint32_t *)(entries + (size_t)i * ENTRY + 48) = 2 | 8 | 16 | 32 | 3 << 8; /* confirmed, seen reply, assured, SNAT, ESTABLISHED */
        link_node(i, 0, oa, ob);
        link_node(i, 1, ra, rb);
    }

    const uint32_t packets = 2 * n;
    uint8_t *ring = malloc((size_t)packets * RECORD);
    uint8_t scratch[PACKET_LENGTH];
    uint64_t r = 0x2545F4914F6CDD1Dull;
    for (uint32_t k = 0; k < packets; k++)
    {
        uint32_t i = (uint32_t)(rng(&r) % n);
        memset(scratch, 0, sizeof scratch);
        scratch[0] = 0x45; store_be16(scratch + 2, 40); scratch[8] = 64; scratch[9] = 6;
        if (r & 1) { store_be32(scratch + 12, servers[i]); store_be32(scratch + 16, pool); store_be16(scratch + 20, 443); store_be16(scratch + 22, nat[i]); }
        else { store_be32(scratch + 12, clients[i]); store_be32(scratch + 16, servers[i]); store_be16(scratch + 20, 40000); store_be16(scratch + 22, 443); }
        store_be32(scratch + 24, 2001); store_be32(scratch + 28, 6001); scratch[32] = 5 << 4; scratch[33] = 0x10; store_be16(scratch + 34, 65535);
        put_checksums(scratch);
        uint8_t *rec = ring + (size_t)k * RECORD;
        memcpy(rec, scratch + 12, 12);           /* addresses, ports */
        memcpy(rec + 12, scratch + 4, 2);        /* identification */
        memcpy(rec + 14, scratch + 10, 2);       /* IP checksum */
        memcpy(rec + 16, scratch + 36, 2);       /* TCP checksum */
    }

    static uint8_t batch[BATCH][2048] __attribute__((aligned(64)));
    memset(scratch + 12, 0, 12);
    for (int j = 0; j < BATCH; j++) memcpy(batch[j], scratch, PACKET_LENGTH);
    uint64_t ka[BATCH], kb[BATCH];
    uint32_t bk[BATCH], fl[BATCH], ref[BATCH];
    int ok[BATCH];
    uint32_t position = 0;
    double rates[600];
    int nrates = 0;
    uint64_t start = now_ns(), mark = start, done = 0, marked = 0;
    int now_ms = 0;
    uint64_t sink = 0;
    while (nrates < seconds + 1)
    {
        for (int j = 0; j < BATCH; j++)
        {
            const uint8_t *rec = ring + (size_t)position * RECORD;
            position = position + 1 == packets ? 0 : position + 1;
            uint8_t *p = batch[j];
            memcpy(p + 12, rec, 12);
            memcpy(p + 4, rec + 12, 2);
            memcpy(p + 10, rec + 14, 2);
            memcpy(p + 36, rec + 16, 2);
        }
        if (single)
        {
            for (int j = 0; j < BATCH; j++)
            {
                if (!parse(batch[j], PACKET_LENGTH, &ka[0], &kb[0], &bk[0], &fl[0]) || !act(batch[j], ka[0], kb[0], bk[0], fl[0], now_ms)) dropped++;
            }
        }
        else
        {
            for (int j = 0; j < BATCH; j++)
            {
                ok[j] = parse(batch[j], PACKET_LENGTH, &ka[j], &kb[j], &bk[j], &fl[j]);
                if (prefetch) __builtin_prefetch(&buckets[bk[j]]);
            }
            if (prefetch)
            {
                for (int j = 0; j < BATCH; j++) { ref[j] = (uint32_t)(buckets[bk[j]] & REF_MASK); __builtin_prefetch(node_line(ref[j] + (ref[j] == 0))); }
                for (int step = 0; step < 2; step++)
                {
                    for (int j = 0; j < BATCH; j++)
                    {
                        uint64_t *t = node_tuple(ref[j] + (ref[j] == 0));
                        uint32_t next = (uint32_t)(*node_link(ref[j] + (ref[j] == 0)) & REF_MASK);
                        ref[j] = ref[j] != 0 && (t[0] != ka[j] || t[1] != kb[j]) ? next : 0;
                        if (ref[j]) __builtin_prefetch(node_line(ref[j]));
                    }
                }
            }
            else
            {
                for (int j = 0; j < BATCH; j++) ref[j] = (uint32_t)(buckets[bk[j]] & REF_MASK);
                for (int j = 0; j < BATCH; j++) sink += *(volatile uint64_t *)node_line(ref[j] + (ref[j] == 0));
                for (int step = 0; step < 2; step++)
                {
                    for (int j = 0; j < BATCH; j++)
                    {
                        uint64_t *t = node_tuple(ref[j] + (ref[j] == 0));
                        uint32_t next = (uint32_t)(*node_link(ref[j] + (ref[j] == 0)) & REF_MASK);
                        ref[j] = ref[j] != 0 && (t[0] != ka[j] || t[1] != kb[j]) ? next : 0;
                    }
                    for (int j = 0; j < BATCH; j++) if (ref[j]) sink += *(volatile uint64_t *)node_line(ref[j]);
                }
            }
            for (int j = 0; j < BATCH; j++)
            {
                if (!ok[j] || !act(batch[j], ka[j], kb[j], bk[j], fl[j], now_ms)) dropped++;
            }
        }
        done += BATCH;
        if ((done & 0xFFFF) == 0)
        {
            uint64_t t = now_ns();
            if (t - mark >= 1000000000ull)
            {
                double mpps = (double)(done - marked) * 1000.0 / (double)(t - mark);
                if (nrates > 0) printf("second %d: %.2f Mpps\n", nrates, mpps); /* the first second is warm-up */
                rates[nrates++] = mpps;
                mark = t;
                marked = done;
                now_ms += 1000;
            }
        }
    }
    if (dropped != 0) { fprintf(stderr, "dropped %llu packets: the fast path is wrong\n", (unsigned long long)dropped); return 1; }
    qsort(rates + 1, nrates - 1, sizeof(double), cmp);
    printf("pipeline_ceiling connections=%u mode=%s median=%.2f Mpps (found %llu, sink %llu)\n", n, mode, rates[1 + (nrates - 1) / 2],
        (unsigned long long)found, (unsigned long long)(sink & 1));
    return 0;
}
