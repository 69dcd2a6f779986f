/* tt_alloc / tt_free: alignment, every byte writable, big and small blocks freed in any order, and (outside
 * AddressSanitizer, on Linux) a buffer of 256 KiB or more lies in a mapping tt_alloc made, 2 MiB-aligned and whole
 * 2 MiB pages long (huge pages can back every byte of it: glibc's heap is faulted in as 4 KiB pages, and so is the
 * part of a mapping that is not a whole 2 MiB page), which tt_free unmaps once its last buffer is freed. */
#include "tt_common.h"
#include "tt_test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

/* The mapping of /proc/self/maps that holds p: bytes from p to its end (0 if none holds it, -1 if maps is
 * unreadable); *heap set when it is the brk heap, *start its first address. */
static long long mapping_at(const void *p, int *heap, uintptr_t *start)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[512];
    long long len = 0;
    *heap = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a <= (uintptr_t)p && (uintptr_t)p < b) {
            len = (long long)(b - (uintptr_t)p);
            *start = (uintptr_t)a;
            *heap = strstr(line, "[heap]") != NULL;
            break;
        }
    }
    fclose(f);
    return len;
}

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static const size_t M2 = (size_t)2 << 20;

/* The alignment tt_alloc promises for a buffer of n bytes: 2 MiB for a mapping of its own (16 MiB and more, or
 * 1 MiB and more under ASan, where posix_memalign gives it), a page for a buffer carved out of a shared slab. */
static size_t want_align(size_t n)
{
    if (ASAN) return n >= ((size_t)1 << 20) - 63 ? M2 : 64;
    return n > ((size_t)16 << 20) ? M2 : n >= ((size_t)256 << 10) ? 4096 : 64;
}

/* p (n bytes) lies in an anonymous mapping that starts and ends on 2 MiB boundaries (merged neighbours are
 * tt_alloc's too: only its mappings have huge pages advised) and is not glibc's heap. */
static void check_whole_pages(const void *p, size_t n)
{
    int heap;
    uintptr_t start = 0;
    long long len = mapping_at(p, &heap, &start);
    if (len < 0) return; /* no /proc */
    CHECKF(len >= (long long)n, "tt_alloc(%zu): mapping at %p has %lld bytes left, want >= %zu", n, p, len, n);
    CHECKF(!heap, "tt_alloc(%zu) = %p is on the brk heap", n, p);
    CHECKF(start % M2 == 0 && ((uintptr_t)p + (size_t)len) % M2 == 0,
           "tt_alloc(%zu) = %p: its mapping %#lx..%#lx is not whole 2 MiB pages", n, p, (unsigned long)start,
           (unsigned long)((uintptr_t)p + (size_t)len));
}

/* Buffers of a size between the heap's and a mapping of their own (the matrices of a model: 0.3-9 MB) share slabs;
 * freed in a scrambled order, every slab goes: the mapping count comes back. Those made after tt_alloc_seq() are
 * never in a slab made before it (placement takes "the buffers made since the mark" by their mappings). */
static void check_slabs(void)
{
    enum { NB = 60 };
    int before = count_mappings();
    uint8_t *b[NB];
    size_t sz[NB];
    for (int i = 0; i < NB; i++) { /* 60 x 0.3-2.4 MiB: more than one 64 MiB slab */
        sz[i] = ((size_t)300 << 10) + (size_t)(i * 7919 % 17) * ((size_t)128 << 10) + (size_t)i * 64;
        b[i] = tt_alloc(sz[i]);
        CHECK(b[i] != NULL);
        if (!b[i]) continue;
        CHECKF((uintptr_t)b[i] % want_align(sz[i]) == 0, "slab buffer %p of %zu bytes", (void *)b[i], sz[i]);
        memset(b[i], i + 1, sz[i]);
        if (!ASAN) check_whole_pages(b[i], sz[i]);
    }
    size_t bad = 0; /* no two buffers overlap: each still holds its own byte */
    for (int i = 0; i < NB; i++)
        for (size_t j = 0; b[i] && j < sz[i]; j += 511) bad += b[i][j] != (uint8_t)(i + 1);
    CHECKF(!bad, "slabs: %zu bytes overwritten by another buffer", bad);
    for (int i = 0; i < NB; i++) tt_free(b[(i * 37) % NB]); /* 37 is prime to 60: every buffer once */
    int after = count_mappings();
    if (before >= 0 && after >= 0 && !ASAN)
        CHECKF(after <= before, "slabs: %d mappings before, %d after every buffer was freed", before, after);
}

/* tt_alloc_huge: the pages counted are those of the mappings made since the mark (a slab's used pages, whole), huge
 * pages never more than that; with THP on, a touched buffer of whole pages is usually on them (said, not checked: the
 * kernel may have none free). tt_thp_mode names the mode. */
static void check_huge(void)
{
    const char *mode = tt_thp_mode();
    CHECKF(!strcmp(mode, "always") || !strcmp(mode, "madvise") || !strcmp(mode, "never") || !strcmp(mode, "unknown"),
           "THP mode '%s'", mode);
    size_t mapped = 1, huge = 1;
    uint64_t mark = tt_alloc_seq();
    tt_status st = tt_alloc_huge(mark, &mapped, &huge);
    if (st == TT_ERR_UNSUPPORTED) {
        printf("alloc: SKIP huge-page accounting: %s\n", tt_last_error());
        return;
    }
    CHECKF(st == TT_OK && mapped == 0 && huge == 0, "nothing made since the mark: %zu mapped, %zu huge", mapped, huge);
    uint8_t *a = tt_alloc((size_t)3 << 20), *b = tt_alloc((size_t)20 << 20); /* a slab's 2 pages; a 10-page mapping */
    CHECK(a && b);
    if (a) memset(a, 1, (size_t)3 << 20);
    if (b) memset(b, 2, (size_t)20 << 20);
    st = tt_alloc_huge(mark, &mapped, &huge);
    CHECKF(st == TT_OK && mapped == ((size_t)24 << 20) && huge <= mapped, "%zu mapped (want 24 MiB), %zu huge", mapped,
           huge);
    printf("alloc: THP %s: %zu of %zu MiB of fresh buffers on huge pages\n", mode, huge >> 20, mapped >> 20);
    tt_free(a), tt_free(b);
    CHECK(tt_alloc_huge(mark, &mapped, &huge) == TT_OK && mapped == 0); /* freed: none left */
}

/* tt_alloc_place: the buffers made since the mark keep their addresses and every byte, the pages counted are theirs
 * only (an older buffer is not touched), and a second call after they are freed has nothing to do. */
static void check_place(void)
{
    uint8_t *old = tt_alloc(2 * M2);
    const uint64_t mark = tt_alloc_seq();
    /* one slab made after the mark (old's was closed by it) holds them back to back, page-aligned: 8 MiB, then
     * 6 MiB + 12352 bytes, then 2 MiB - 8192 from 14 MiB + 16384 to 16 MiB + 8192: 9 pages of 2 MiB */
    const size_t sz[3] = {4 * M2, 3 * M2 + 12345, M2 - 8192};
    uint8_t *b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = tt_alloc(sz[i]);
        CHECK(b[i] != NULL);
        for (size_t j = 0; b[i] && j < sz[i]; j++) b[i][j] = (uint8_t)(j * 131 + i * 7 + (j >> 21));
    }
    if (old) memset(old, 0x5a, 2 * M2);
    tt_place_report r;
    tt_status st = tt_alloc_place(mark, 3, &r);
    if (st == TT_ERR_UNSUPPORTED) {
        printf("alloc: SKIP placement: %s\n", tt_last_error());
    } else {
        CHECKF(st == TT_OK, "placement: %s", tt_last_error());
        CHECKF(r.pages == 9, "placement: %zu pages (want 9: the pages of the new buffers' slab only)", r.pages);
        CHECK(r.moved <= r.pages && r.rounds == 3 && r.mean_before_us > 0 && r.mean_after_us > 0);
        CHECKF(r.mean_after_us <= r.mean_before_us * 1.0001, "placement: mean page time %.1f -> %.1f us",
               r.mean_before_us, r.mean_after_us);
        printf("alloc: placement moved %zu of %zu pages (mean %.1f -> %.1f us per page)\n", r.moved, r.pages,
               r.mean_before_us, r.mean_after_us);
    }
    size_t bad = 0;
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; b[i] && j < sz[i]; j++) bad += b[i][j] != (uint8_t)(j * 131 + i * 7 + (j >> 21));
    for (size_t j = 0; old && j < 2 * M2; j++) bad += old[j] != 0x5a;
    CHECKF(!bad, "placement: %zu bytes changed", bad);
    for (int i = 0; i < 3; i++) tt_free(b[i]);
    tt_free(old);
    CHECK(tt_alloc_place(mark, 2, &r) == TT_ERR_UNSUPPORTED || r.pages == 0); /* freed: nothing left to place */
    /* tt_alloc_set_exact (bench-ab --pages exact): the former mappings, of the buffers' own sizes, whose whole pages
     * only are placed: 4 + 3 + 0 */
    tt_alloc_set_exact(true);
    const uint64_t mark2 = tt_alloc_seq();
    for (int i = 0; i < 3; i++) {
        b[i] = tt_alloc(sz[i]);
        CHECK(b[i] != NULL);
    }
    tt_alloc_set_exact(false);
    st = tt_alloc_place(mark2, 1, &r);
    CHECKF(st == TT_ERR_UNSUPPORTED || r.pages == 4 + 3, "placement of exact mappings: %zu pages (want 7)", r.pages);
    for (int i = 0; i < 3; i++) tt_free(b[i]);
    CHECK(tt_alloc_place(mark, 0, &r) == TT_ERR_VALUE || ASAN);
}

int main(void)
{
    static const size_t sizes[] = {0, 1, 63, 64, 4095, 65536, ((size_t)1 << 20) - 64, (size_t)1 << 20,
                                   ((size_t)1 << 20) + 1, ((size_t)5 << 20) + 123, (size_t)64 << 20};
    const int n = (int)(sizeof sizes / sizeof *sizes);
    void *p[sizeof sizes / sizeof *sizes];
    /* raise glibc's dynamic mmap threshold, as a model load does: a freed 16 MiB mapping puts later blocks of up to
     * 16 MiB on the heap, unless tt_alloc maps them itself */
    void *volatile raise = malloc((size_t)16 << 20); /* volatile: the compiler may not drop the pair */
    if (raise) memset(raise, 0, 4096);
    free(raise);
    for (int i = 0; i < n; i++) {
        p[i] = tt_alloc(sizes[i]);
        CHECKF(p[i] != NULL, "tt_alloc(%zu)", sizes[i]);
        if (!p[i]) continue;
        size_t align = want_align(sizes[i]);
        CHECKF((uintptr_t)p[i] % align == 0, "tt_alloc(%zu) = %p not %zu-aligned", sizes[i], p[i], align);
        memset(p[i], 0xa5, sizes[i] ? sizes[i] : 1); /* every byte asked for is writable */
        if (sizes[i] >= ((size_t)256 << 10) && !ASAN) check_whole_pages(p[i], sizes[i]);
    }
    /* free in an order that mixes heap blocks and mappings */
    for (int i = 0; i < n; i += 2) tt_free(p[i]);
    for (int i = 1; i < n; i += 2) tt_free(p[i]);
    tt_free(NULL);

    /* no mapping is leaked: allocate and free big blocks many times, the process's mapping count comes back
     * (checked outside ASan builds, where tt_alloc makes the mappings) */
    int before = count_mappings();
    for (int r = 0; r < 200; r++) {
        void *a = tt_alloc((size_t)3 << 20), *b = tt_alloc(100), *c = tt_alloc((size_t)17 << 20);
        CHECK(a && b && c);
        if (a) ((char *)a)[((size_t)3 << 20) - 1] = 1;
        if (c) ((char *)c)[0] = 1;
        tt_free(c), tt_free(b), tt_free(a);
    }
    int after = count_mappings();
    if (before >= 0 && after >= 0 && !ASAN) /* ASan's allocator maps memory of its own (quarantine, shadow) */
        CHECKF(after <= before + 2, "mappings: %d before 200 rounds of tt_alloc/tt_free, %d after", before, after);
    if (ASAN) printf("alloc: AddressSanitizer build: buffers of 1 MiB and more stay on the (checked) heap\n");
    /* tt_alloc_zeroed: zero whether from the heap, a slab or a mapping (after the slabs above were used and freed),
     * NULL when n·size overflows */
    static const size_t zn[] = {1, 1000, (size_t)300 << 10, (size_t)3 << 20, (size_t)20 << 20};
    for (int i = 0; i < 5; i++) {
        void *h = tt_alloc(zn[i]); /* a dirty neighbour first: the heap hands such blocks back */
        if (h) memset(h, 0xee, zn[i]);
        tt_free(h);
        uint8_t *z = tt_alloc_zeroed(zn[i], 1);
        CHECK(z != NULL);
        size_t nz = 0;
        for (size_t j = 0; z && j < zn[i]; j += 97) nz += z[j] != 0;
        CHECKF(!nz, "tt_alloc_zeroed(%zu): %zu non-zero bytes sampled", zn[i], nz);
        tt_free(z);
    }
    CHECK(tt_alloc_zeroed(SIZE_MAX / 2, 4) == NULL);
    check_slabs();
    check_huge();
    check_place();
    return tt_test_end("alloc");
}
