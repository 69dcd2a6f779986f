/* fuzz_gguf.c — fuzzing the GGUF reader (and the tokenizer built from what it accepts).
 *
 * Two builds of one file:
 *   - libFuzzer (clang, coverage-guided, for long runs), with -DTT_LIBFUZZER:
 *         clang -g -O1 -fsanitize=fuzzer,address,undefined -DTT_LIBFUZZER -D_GNU_SOURCE -Ikernels -Imodel \
 *             -Itests tests/model/fuzz_gguf.c model/gguf.c model/gguf_write.c model/tokenizer.c \
 *             kernels/tt_common.c -o fuzz_gguf_lf
 *         mkdir -p corpus && build/tests/model/fuzz_gguf --seed-out corpus/seed.gguf
 *         ./fuzz_gguf_lf -max_total_time=3600 -max_len=65536 corpus
 *     (the meson-built smoke binary writes the seed; any *.gguf files make good extra seeds).
 *   - the smoke for `make test` (no clang needed): a deterministic mutation loop over a valid small GGUF —
 *     bit flips, interesting bytes, truncations, corrupted length / count / type / offset fields (located by
 *     parsing the seed), spliced and duplicated chunks — for argv[1] seconds (default 5, capped at 50). Each
 *     mutant is handed over in an exact-size heap buffer so AddressSanitizer sees any over-read. It asserts no
 *     crash and that every rejection comes with a message. */
#include "gguf.h"
#include "tokenizer.h"
#include "tt_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exercise everything an accepted file hands out. Returns 0 if accepted, 1 if refused with a message, -1 if
 * refused silently (a bug). */
static int exercise(const uint8_t *data, size_t size)
{
    tt_gguf *g = NULL;
    tt_fail(TT_OK, "%s", "");
    if (tt_gguf_open_mem(data, size, &g)) return *tt_last_error() ? 1 : -1;
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const tt_gguf_kv *kv = &g->kv[i];
        sink += kv->key_len ? (uint8_t)kv->key[kv->key_len - 1] : 0;
        if (kv->type == TT_GGUF_STRING) {
            size_t n;
            const char *s = tt_gguf_kv_str(kv, &n);
            sink += n ? (uint8_t)s[n - 1] : 0;
        } else if (kv->type == TT_GGUF_ARRAY) {
            for (uint64_t j = 0; j < kv->arr_n; j++) {
                if (kv->arr_type == TT_GGUF_STRING) {
                    size_t n;
                    const char *s = tt_gguf_arr_str(kv, j, &n);
                    sink += n ? (uint8_t)s[n - 1] : 0;
                } else if (kv->arr_type == TT_GGUF_F32 || kv->arr_type == TT_GGUF_F64) {
                    sink += (uint64_t)(tt_gguf_arr_float(kv, j) != 0);
                } else {
                    sink += (uint64_t)tt_gguf_arr_int(kv, j);
                }
            }
        } else if (kv->type == TT_GGUF_F32 || kv->type == TT_GGUF_F64) {
            sink += (uint64_t)(tt_gguf_kv_float(kv) != 0);
        } else {
            sink += (uint64_t)tt_gguf_kv_int(kv);
        }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) { /* first and last byte of every tensor */
        const tt_gguf_tensor *t = &g->tensors[i];
        sink += t->data[0] + t->data[t->nbytes - 1];
        sink += tt_gguf_find_tensor(g, t->name) != NULL;
    }
    tt_tokenizer *tok = NULL;
    if (!tt_tokenizer_open(g, &tok)) {
        int *ids, n;
        static const char text[] = "Hello, fuzz 123 \xc3\xa9!\n";
        if (!tt_tokenizer_encode(tok, text, sizeof text - 1, true, &ids, &n)) {
            char buf[64];
            for (int i = 0; i < n; i++) sink += tt_tokenizer_decode(tok, ids[i], buf, sizeof buf);
            free(ids);
        }
        tt_tokenizer_free(tok);
    }
    (void)sink;
    tt_gguf_close(g);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (exercise(data, size) < 0) abort(); /* a refusal without a message is a bug */
    return 0;
}

#ifndef TT_LIBFUZZER
/* ---- the bounded smoke ---- */

/* The seed: bitnet dialect, a tokenizer (gpt2, bytes + merges), every KV kind, five tensors of several types. */
static uint8_t *make_seed(size_t *len)
{
    tt_gguf_writer *w;
    if (tt_gguf_writer_new(&w)) return NULL;
    const char *toks[260], *merges[] = {"a b", "ab c", "\xc4\xa0 a"};
    char bytes[256][4];
    for (int b = 0; b < 256; b++) {
        bytes[b][tt_bpe_byte_to_utf8((uint8_t)b, bytes[b])] = 0;
        toks[b] = bytes[b];
    }
    toks[256] = "ab", toks[257] = "abc", toks[258] = "\xc4\xa0" "a", toks[259] = "<s>";
    int32_t types[260];
    for (int i = 0; i < 260; i++) types[i] = i == 259 ? 3 : 1;
    double f64[2] = {1.0, -2.0};
    tt_gguf_writer_kv_str(w, "general.architecture", "bitnet-b1.58");
    tt_gguf_writer_kv_u32(w, "general.alignment", 32);
    tt_gguf_writer_kv_u32(w, "bitnet-b1.58.embedding_length", 128);
    tt_gguf_writer_kv_f32(w, "bitnet-b1.58.rope.freq_base", 10000.0f);
    tt_gguf_writer_kv_bool(w, "tokenizer.ggml.add_bos_token", true);
    tt_gguf_writer_kv_str(w, "tokenizer.ggml.model", "gpt2");
    tt_gguf_writer_kv_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 260);
    tt_gguf_writer_kv_arr(w, "tokenizer.ggml.token_type", TT_GGUF_I32, types, 260);
    tt_gguf_writer_kv_arr_str(w, "tokenizer.ggml.merges", merges, NULL, 3);
    tt_gguf_writer_kv_u32(w, "tokenizer.ggml.bos_token_id", 259);
    tt_gguf_writer_kv_arr(w, "x.f64", TT_GGUF_F64, f64, 2);
    tt_gguf_writer_kv_i64(w, "x.i64", -5);
    struct {
        const char *name;
        uint32_t type;
        int nd;
        uint64_t ne[2];
    } ts[] = {{"token_embd.weight", TT_GGML_F16, 2, {128, 4}},
              {"blk.0.attn_q.weight", TT_GGML_I2_S, 2, {128, 8}},
              {"blk.0.attn_norm.weight", TT_GGML_F32, 1, {128, 1}},
              {"q8.weight", TT_GGML_Q8_0, 2, {64, 2}},
              {"tl2.weight", TT_GGML_TL2, 2, {256, 2}}};
    uint8_t *data[5];
    size_t sizes[5];
    uint64_t rng = 11;
    for (int i = 0; i < 5; i++) {
        tt_gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].nd, ts[i].ne);
        sizes[i] = tt_ggml_nbytes(ts[i].type, ts[i].nd, ts[i].ne);
        data[i] = malloc(sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++) data[i][j] = (uint8_t)tt_rand_next(&rng);
    }
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    tt_status st = f ? tt_gguf_writer_begin_fp(w, f) : TT_ERR_IO;
    for (int i = 0; i < 5 && !st; i++) st = tt_gguf_writer_write(w, data[i], sizes[i]);
    if (!st) st = tt_gguf_writer_finish(w);
    if (f) fclose(f);
    tt_gguf_writer_free(w);
    for (int i = 0; i < 5; i++) free(data[i]);
    if (st) {
        fprintf(stderr, "fuzz_gguf: seed: %s\n", tt_last_error());
        free(buf);
        return NULL;
    }
    *len = n;
    return (uint8_t *)buf;
}

/* Offsets of the seed's structural fields (lengths, counts, types, dims, offsets): the interesting targets. */
static size_t fields[4096];
static int n_fields;

static void add_field(size_t off)
{
    if (n_fields < (int)(sizeof fields / sizeof fields[0])) fields[n_fields++] = off;
}

static void find_fields(const uint8_t *seed, size_t len)
{
    tt_gguf *g;
    if (tt_gguf_open_mem(seed, len, &g)) return;
    add_field(4), add_field(8), add_field(16);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const tt_gguf_kv *kv = &g->kv[i];
        size_t key = (size_t)((const uint8_t *)kv->key - seed);
        add_field(key - 8);           /* key length */
        add_field(key + kv->key_len); /* value type */
        size_t val = (size_t)(kv->val - seed);
        if (kv->type == TT_GGUF_STRING) add_field(val);
        if (kv->type == TT_GGUF_ARRAY) {
            add_field(val - 12), add_field(val - 8); /* element type, count */
            if (kv->arr_type == TT_GGUF_STRING)
                for (uint64_t j = 0; j < kv->arr_n; j += 37) add_field(val + (size_t)kv->str_off[j]);
        }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const tt_gguf_tensor *t = &g->tensors[i];
        const uint8_t *p = memmem(seed, g->data_start, t->name, strlen(t->name));
        if (!p) continue;
        size_t at = (size_t)(p - seed);
        add_field(at - 8);                                  /* name length */
        at += strlen(t->name);
        add_field(at);                                      /* n_dims */
        for (int d = 0; d < t->n_dims; d++) add_field(at + 4 + 8 * (size_t)d);
        add_field(at + 4 + 8 * (size_t)t->n_dims);          /* type */
        add_field(at + 8 + 8 * (size_t)t->n_dims);          /* offset */
    }
    tt_gguf_close(g);
}

static uint64_t interesting(uint64_t *rng, size_t len)
{
    static const uint64_t v[] = {0, 1, 2, 3, 4, 7, 8, 12, 31, 32, 33, 36, 37, 38, 39, 63, 64, 255, 256, 65535,
                                 0x7fffffffull, 0x80000000ull, 0xffffffffull, 1ull << 32, 1ull << 40,
                                 0x7fffffffffffffffull, 0x8000000000000000ull, UINT64_MAX, UINT64_MAX - 7};
    uint64_t r = tt_rand_next(rng);
    switch (r % 4) {
    case 0: return len + (r >> 8) % 64 - 32;     /* around the file size */
    case 1: return (r >> 8) % 512;               /* small */
    default: return v[(r >> 8) % (sizeof v / sizeof v[0])];
    }
}

/* Apply 1..4 mutations to buf (capacity cap), returning the new length. */
static size_t mutate(uint8_t *buf, size_t len, size_t cap, uint64_t *rng)
{
    int n = 1 + (int)(tt_rand_next(rng) % 4);
    for (int i = 0; i < n && len; i++) {
        uint64_t r = tt_rand_next(rng);
        size_t at = (size_t)((r >> 8) % len);
        switch (r % 8) {
        case 0: buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8)); break;           /* bit flip */
        case 1: buf[at] = (uint8_t)interesting(rng, len); break;              /* interesting byte */
        case 2: len = (size_t)((r >> 8) % (len + 1)); break;                  /* truncate */
        case 3:                                                               /* corrupt a field, u64 */
        case 4: {                                                             /* ... or its low u32 */
            if (!n_fields) break;
            size_t f = fields[(r >> 8) % (uint64_t)n_fields];
            uint64_t v = interesting(rng, len);
            size_t w = r % 8 == 3 ? 8 : 4;
            if (f + w <= len) memcpy(buf + f, &v, w);
            break;
        }
        case 5: { /* duplicate a chunk over another place */
            size_t from = (size_t)(tt_rand_next(rng) % len), l = 1 + (size_t)(tt_rand_next(rng) % 64);
            if (from + l <= len && at + l <= len) memmove(buf + at, buf + from, l);
            break;
        }
        case 6: { /* insert random bytes */
            size_t l = 1 + (size_t)(tt_rand_next(rng) % 16);
            if (len + l > cap) break;
            memmove(buf + at + l, buf + at, len - at);
            for (size_t j = 0; j < l; j++) buf[at + j] = (uint8_t)tt_rand_next(rng);
            len += l;
            break;
        }
        default: { /* delete bytes */
            size_t l = 1 + (size_t)(tt_rand_next(rng) % 16);
            if (at + l > len) l = len - at;
            memmove(buf + at, buf + at + l, len - at - l);
            len -= l;
        }
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    size_t seed_len;
    uint8_t *seed = make_seed(&seed_len);
    if (!seed) return 1;
    if (argc == 3 && !strcmp(argv[1], "--seed-out")) {
        FILE *f = fopen(argv[2], "wb");
        int ok = f && fwrite(seed, 1, seed_len, f) == seed_len;
        if (f) fclose(f);
        free(seed);
        fprintf(stderr, ok ? "fuzz_gguf: wrote %s\n" : "fuzz_gguf: cannot write %s\n", argv[2]);
        return ok ? 0 : 1;
    }
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    if (!(seconds > 0)) seconds = 5.0;
    if (seconds > 50) seconds = 50; /* keep the test under a minute */
    const char *quick = getenv("TT_TEST_QUICK");
    if (quick && *quick && strcmp(quick, "0") && seconds > 10) seconds = 10;
    if (exercise(seed, seed_len) != 0) {
        fprintf(stderr, "fuzz_gguf: the seed itself is refused: %s\n", tt_last_error());
        return 1;
    }
    find_fields(seed, seed_len);
    size_t cap = seed_len + 256;
    uint8_t *work = malloc(cap);
    uint64_t rng = 0x5eed, iters = 0, accepted = 0, silent = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;; iters++) {
        if ((iters & 63) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) >= seconds) break;
        }
        memcpy(work, seed, seed_len);
        size_t len = mutate(work, seed_len, cap, &rng);
        uint8_t *exact = malloc(len ? len : 1); /* exact size: any over-read is an ASan error */
        memcpy(exact, work, len);
        int r = exercise(exact, len);
        accepted += r == 0;
        if (r < 0) {
            silent++;
            fprintf(stderr, "fuzz_gguf: iteration %llu: refused without a message\n", (unsigned long long)iters);
        }
        free(exact);
    }
    printf("fuzz_gguf: %llu mutants in %.0f s (%d structural fields targeted): %llu accepted, %llu refused with a "
           "message, %llu refused silently\n",
           (unsigned long long)iters, seconds, n_fields, (unsigned long long)accepted,
           (unsigned long long)(iters - accepted - silent), (unsigned long long)silent);
    free(work);
    free(seed);
    return silent || iters < 100 ? 1 : 0;
}
#endif
