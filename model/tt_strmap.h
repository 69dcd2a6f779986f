/* tt_strmap.h — a small open-addressing hash map from byte strings to int (vocabularies, merge ranks). Keys are
 * borrowed, not copied: they must outlive the map. Internal to model/. */
#ifndef TT_STRMAP_H
#define TT_STRMAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tt_strmap {
    const char **key;
    size_t *len;
    int *val;
    size_t cap; /* power of two, kept at most half full */
    size_t n;
} tt_strmap;

static inline uint64_t tt_strmap_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static inline int tt_strmap_init(tt_strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < 2 * expected + 2) cap *= 2;
    m->key = calloc(cap, sizeof *m->key);
    m->len = calloc(cap, sizeof *m->len);
    m->val = calloc(cap, sizeof *m->val);
    m->cap = cap;
    m->n = 0;
    return m->key && m->len && m->val ? 0 : -1;
}

static inline void tt_strmap_free(tt_strmap *m)
{
    free(m->key);
    free(m->len);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* Slot of key (found or the empty slot where it would go). */
static inline size_t tt_strmap_slot(const tt_strmap *m, const char *s, size_t n)
{
    size_t i = (size_t)tt_strmap_hash(s, n) & (m->cap - 1);
    while (m->key[i] && !(m->len[i] == n && !memcmp(m->key[i], s, n))) i = (i + 1) & (m->cap - 1);
    return i;
}

/* -1 when absent. */
static inline int tt_strmap_get(const tt_strmap *m, const char *s, size_t n)
{
    if (!m->cap) return -1;
    size_t i = tt_strmap_slot(m, s, n);
    return m->key[i] ? m->val[i] : -1;
}

/* Insert if absent (keeps the first value: the lowest id / rank wins). Returns -1 on out of memory. */
static inline int tt_strmap_put(tt_strmap *m, const char *s, size_t n, int v)
{
    if (2 * (m->n + 1) > m->cap) {
        tt_strmap old = *m;
        if (tt_strmap_init(m, old.cap) < 0) {
            tt_strmap_free(m);
            *m = old;
            return -1;
        }
        for (size_t i = 0; i < old.cap; i++)
            if (old.key[i]) {
                size_t j = tt_strmap_slot(m, old.key[i], old.len[i]);
                m->key[j] = old.key[i];
                m->len[j] = old.len[i];
                m->val[j] = old.val[i];
                m->n++;
            }
        tt_strmap_free(&old);
    }
    size_t i = tt_strmap_slot(m, s, n);
    if (!m->key[i]) {
        m->key[i] = s;
        m->len[i] = n;
        m->val[i] = v;
        m->n++;
    }
    return 0;
}

#endif
