/* tt_alloc / tt_free: alignment, every byte writable, big and small blocks freed in any order, and (outside
 * AddressSanitizer, on Linux) a buffer of 1 MiB or more is a mapping of its own that tt_free unmaps: glibc would
 * otherwise put it on its heap, on pages already faulted in as 4 KiB, where huge pages are never used. */
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
 * unreadable); *heap set when it is the brk heap. */
static long long mapping_at(const void *p, int *heap)
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

/* tt_alloc_place: the buffers made since the mark keep their addresses and every byte, the pages counted are theirs
 * only (an older buffer is not touched), and a second call after they are freed has nothing to do. */
static void check_place(void)
{
    const size_t M2 = (size_t)2 << 20;
    uint8_t *old = tt_alloc(2 * M2);
    const uint64_t mark = tt_alloc_seq();
    const size_t sz[3] = {4 * M2, 3 * M2 + 12345, M2 - 8192}; /* the last: no whole 2 MiB page */
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
        CHECKF(r.pages == 4 + 3, "placement: %zu pages (want 7: whole 2 MiB pages of the new buffers only)", r.pages);
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
        size_t align = sizes[i] >= ((size_t)1 << 20) - 63 ? (size_t)2 << 20 : 64;
        CHECKF((uintptr_t)p[i] % align == 0, "tt_alloc(%zu) = %p not %zu-aligned", sizes[i], p[i], align);
        memset(p[i], 0xa5, sizes[i] ? sizes[i] : 1); /* every byte asked for is writable */
        if (sizes[i] >= ((size_t)1 << 20) && !ASAN) {
            int heap;
            long long len = mapping_at(p[i], &heap);
            size_t want = (((sizes[i] + 63) & ~(size_t)63) + 4095) & ~(size_t)4095;
            if (len >= 0) { /* an anonymous mapping (it may have merged with a neighbour), not glibc's heap */
                CHECKF(len >= (long long)want, "tt_alloc(%zu): mapping at %p has %lld bytes, want >= %zu", sizes[i],
                       p[i], len, want);
                CHECKF(!heap, "tt_alloc(%zu) = %p is on the brk heap", sizes[i], p[i]);
            }
        }
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
    check_place();
    return tt_test_end("alloc");
}
