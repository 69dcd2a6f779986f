/* test_tokenizer.c — byte-level BPE on a small vocabulary built here: known merges, merge-rank order, no merges
 * across pre-tokenizer chunks, byte fallback, decode of every byte, encode/decode round trips (ASCII, UTF-8,
 * arbitrary bytes, which come back with llama.cpp's U+FFFD for each invalid byte), ignore_merges, special tokens
 * on/off, and the tokenizer read from a synthetic GGUF model. Golden ids on the real Llama 3 vocabulary are in
 * test_tokenizer_llama3.c. */
#include "model.h"
#include "tokenizer.h"
#include "tt_model_test.h"

/* 256 byte tokens (GPT-2 mapped), then the merge results, then a control token. */
static tt_tokenizer *build(const char *const *merges, int n_merges)
{
    const char *toks[600];
    char bytes[256][4];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bytes[b][tt_bpe_byte_to_utf8((uint8_t)b, bytes[b])] = 0;
        toks[n++] = bytes[b];
    }
    char *made[300];
    for (int i = 0; i < n_merges; i++) { /* "left right" -> "leftright" */
        const char *sp = strchr(merges[i], ' ');
        made[i] = malloc(strlen(merges[i]));
        memcpy(made[i], merges[i], (size_t)(sp - merges[i]));
        strcpy(made[i] + (sp - merges[i]), sp + 1);
        toks[n++] = made[i];
    }
    toks[n++] = "<|eot|>";
    int32_t types[600];
    for (int i = 0; i < n; i++) types[i] = i == n - 1 ? 3 : 1;
    tt_tokenizer *t = NULL;
    tt_status st = tt_tokenizer_build(toks, NULL, types, n, merges, n_merges, n - 1, n - 1, &t);
    CHECKF(!st, "%s", tt_last_error());
    for (int i = 0; i < n_merges; i++) free(made[i]);
    return t;
}

static int id_of(const tt_tokenizer *t, const char *s)
{
    /* tokens after the 256 bytes were added in merge order; look one up by decoding */
    char buf[64];
    for (int i = 0; i < tt_tokenizer_n_vocab(t); i++) {
        size_t n = tt_tokenizer_decode(t, i, buf, sizeof buf);
        if (n == strlen(s) && !memcmp(buf, s, n)) return i;
    }
    return -1;
}

static void expect_ids(const tt_tokenizer *t, const char *text, const char *const *want, int n_want)
{
    int *ids, n;
    CHECK(!tt_tokenizer_encode(t, text, strlen(text), false, &ids, &n));
    CHECKF(n == n_want, "\"%s\": %d tokens, want %d", text, n, n_want);
    for (int i = 0; i < n && i < n_want; i++) {
        char buf[64];
        size_t l = tt_tokenizer_decode(t, ids[i], buf, sizeof buf);
        CHECKF(l == strlen(want[i]) && !memcmp(buf, want[i], l), "\"%s\" token %d is \"%.*s\", want \"%s\"", text, i,
               (int)l, buf, want[i]);
    }
    free(ids);
}

/* What the tokenizer should give back for s: llama.cpp's decoding (a lead byte with its continuation bytes is
 * one code point, overlong forms included; anything else, or a code point above U+10FFFF, is U+FFFD for one
 * byte), re-encoded as shortest UTF-8. Written out here independently of tokenizer.c. */
static size_t llama_norm(const uint8_t *s, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int need = s[i] < 0x80 ? 0 : s[i] >= 0xC0 && s[i] < 0xE0 ? 1 : s[i] >= 0xE0 && s[i] < 0xF0 ? 2
                 : s[i] >= 0xF0 && s[i] < 0xF8 ? 3 : -1;
        uint32_t cp = need > 0 ? s[i] & (0x7Fu >> (need + 1)) : s[i];
        for (int k = 1; k <= need; k++) {
            if (i + (size_t)k >= n || (s[i + k] & 0xC0) != 0x80) {
                need = -1;
                break;
            }
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (need < 0 || cp > 0x10FFFF) cp = 0xFFFD, need = 0;
        i += (size_t)need + 1;
        if (cp < 0x80) out[o++] = (uint8_t)cp;
        else if (cp < 0x800) out[o++] = (uint8_t)(0xC0 | cp >> 6), out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
        else if (cp < 0x10000)
            out[o++] = (uint8_t)(0xE0 | cp >> 12), out[o++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)),
            out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
        else
            out[o++] = (uint8_t)(0xF0 | cp >> 18), out[o++] = (uint8_t)(0x80 | (cp >> 12 & 0x3F)),
            out[o++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return o;
}

static void round_trip(const tt_tokenizer *t, const char *text, size_t len)
{
    int *ids, n;
    CHECK(!tt_tokenizer_encode(t, text, len, false, &ids, &n));
    uint8_t *want = malloc(len * 3 + 1);
    size_t wl = llama_norm((const uint8_t *)text, len, want);
    char *out = malloc(len * 3 + 16);
    size_t o = 0;
    for (int i = 0; i < n; i++) o += tt_tokenizer_decode(t, ids[i], out + o, len * 3 + 16 - o);
    CHECKF(o == wl && !memcmp(out, want, wl), "round trip of %zu bytes gave %zu, want %zu", len, o, wl);
    free(out);
    free(want);
    free(ids);
}

static void test_small_vocab(void)
{
    /* Ġ is U+0120, the stand-in for the space byte. */
    const char *merges[] = {"h e", "l l", "he ll", "hell o", "\xc4\xa0 w", "o r", "\xc4\xa0w or", "\xc4\xa0wor l",
                            "\xc4\xa0worl d", "o \xc4\xa0", "1 2", "12 3", "a b", "b c"};
    tt_tokenizer *t = build(merges, 14);
    if (!t) return;
    CHECK(tt_tokenizer_n_vocab(t) == 256 + 14 + 1);
    expect_ids(t, "hello world", (const char *[]){"hello", " world"}, 2);
    /* "o Ġ" is a merge, but 'o' and ' ' lie in different pre-tokenizer chunks, so it never applies. */
    expect_ids(t, "hello  world", (const char *[]){"hello", " ", " world"}, 3);
    /* Rank order: "a b" (rank 12) beats "b c" (rank 13): abc -> ab + c. */
    expect_ids(t, "abc", (const char *[]){"ab", "c"}, 2);
    /* Digits split in runs of at most three; 1,2 -> 12 -> 123. */
    expect_ids(t, "12345", (const char *[]){"123", "4", "5"}, 3);
    /* Punctuation, contractions, newlines. */
    expect_ids(t, "it's", (const char *[]){"i", "t", "'", "s"}, 4);
    expect_ids(t, "he said:\n\nok", (const char *[]){"he", " ", "s", "a", "i", "d", ":", "\n", "\n", "o", "k"}, 11);
    CHECK(id_of(t, "hello") == 256 + 3);

    /* BOS on request; control tokens decode to nothing. */
    int *ids, n;
    CHECK(!tt_tokenizer_encode(t, "he", 2, true, &ids, &n) && n == 2 && ids[0] == tt_tokenizer_bos(t));
    char buf[8];
    CHECK(tt_tokenizer_decode(t, ids[0], buf, sizeof buf) == 0);
    CHECK(tt_tokenizer_decode(t, -1, buf, sizeof buf) == 0 && tt_tokenizer_decode(t, 1 << 20, buf, sizeof buf) == 0);
    free(ids);
    CHECK(!tt_tokenizer_encode(t, "", 0, false, &ids, &n) && n == 0);
    free(ids);

    /* Every ASCII byte decodes to itself; a lone byte >= 0x80 is invalid UTF-8: U+FFFD (EF BF BD). */
    for (int b = 0; b < 256; b++) {
        int *one, k;
        char c = (char)b;
        CHECK(!tt_tokenizer_encode(t, &c, 1, false, &one, &k) && k == (b < 0x80 ? 1 : 3));
        size_t o = 0;
        for (int i = 0; i < k; i++) o += tt_tokenizer_decode(t, one[i], buf + o, sizeof buf - o);
        CHECK(b < 0x80 ? o == 1 && (uint8_t)buf[0] == b : o == 3 && !memcmp(buf, "\xef\xbf\xbd", 3));
        free(one);
    }
    const char *texts[] = {"hello world, hello world!", "  leading and trailing  ", "tabs\tand\r\nCRLF\n",
                           "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82", "'S 'T 'Re 'VE 'm 'LL 'd",
                           "a1b22c333d4444", "!!!???...", ""};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) round_trip(t, texts[i], strlen(texts[i]));
    uint64_t rng = 3;
    for (int r = 0; r < 200; r++) { /* arbitrary bytes, including NUL and invalid UTF-8 */
        char s[64];
        size_t len = tt_rand_next(&rng) % sizeof s;
        for (size_t i = 0; i < len; i++) s[i] = (char)tt_rand_next(&rng);
        round_trip(t, s, len);
    }
    tt_tokenizer_free(t);

    /* Without byte tokens an unknown byte is an error with a message, not a crash. */
    const char *few[] = {"a", "b"};
    CHECK(!tt_tokenizer_build(few, NULL, NULL, 2, NULL, 0, -1, -1, &t));
    CHECK(tt_tokenizer_encode(t, "abc", 3, false, &ids, &n) == TT_ERR_VALUE && strstr(tt_last_error(), "0x63"));
    tt_tokenizer_free(t);
}

/* ignore_merges, special-token partition (longest first, CONTROL / UNKNOWN only when asked, USER_DEFINED always),
 * eot / eog lookup. */
static void test_special_and_ignore_merges(void)
{
    const char *toks[270];
    int32_t types[270];
    char bytes[256][4];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bytes[b][tt_bpe_byte_to_utf8((uint8_t)b, bytes[b])] = 0;
        types[n] = 1;
        toks[n++] = bytes[b];
    }
    const int xyz = n, ab = n + 1, c1 = n + 2, c2 = n + 3, user = n + 4, unk = n + 5, eot = n + 6;
    const char *extra[] = {"xyz", "ab", "<|c|>", "<|c|>x", "<u>", "<unk>", "<|eot_id|>"};
    const int32_t extra_types[] = {1, 1, 3, 3, 4, 2, 3};
    for (int i = 0; i < 7; i++) types[n] = extra_types[i], toks[n++] = extra[i];
    const char *merges[] = {"a b"};
    tt_tokenizer *t = NULL;
    CHECKF(!tt_tokenizer_build(toks, NULL, types, n, merges, 1, -1, c1, &t), "%s", tt_last_error());
    if (!t) return;
    CHECK(tt_tokenizer_eot(t) == eot && tt_tokenizer_is_eog(t, eot) && tt_tokenizer_is_eog(t, c1));
    CHECK(!tt_tokenizer_is_eog(t, c2) && tt_tokenizer_find(t, "<u>") == user && tt_tokenizer_find(t, "zz") == -1);
    struct {
        const char *text;
        unsigned flags;
        int n;
        int ids[8];
    } cases[] = {
        {"xyz", 0, 1, {xyz}},                       /* a whole vocabulary entry: no merges needed */
        {"xyzx", 0, 4, {'x', 'y', 'z', 'x'}},       /* not an entry, and no merge builds it */
        {"ab", 0, 1, {ab}},
        {"a<|c|>b", TT_TOK_PARSE_SPECIAL, 3, {'a', c1, 'b'}},
        {"<|c|>xy", TT_TOK_PARSE_SPECIAL, 2, {c2, 'y'}}, /* the longer special text wins */
        {"<|c|><|c|>", TT_TOK_PARSE_SPECIAL, 2, {c1, c1}},
        {"q<u>q", 0, 3, {'q', user, 'q'}},          /* user-defined: parsed even without PARSE_SPECIAL */
        {"<unk>", TT_TOK_PARSE_SPECIAL, 1, {unk}},
        {"", TT_TOK_PARSE_SPECIAL, 0, {0}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int *ids, m;
        CHECK(!tt_tokenizer_encode_ex(t, cases[k].text, strlen(cases[k].text), cases[k].flags, &ids, &m));
        CHECKF(m == cases[k].n && (m == 0 || !memcmp(ids, cases[k].ids, (size_t)m * sizeof *ids)),
               "\"%s\": %d ids, want %d", cases[k].text, m, cases[k].n);
        free(ids);
    }
    /* Without PARSE_SPECIAL, control and unknown token texts are plain text. */
    const char *plain[] = {"a<|c|>b", "<unk>", "<|eot_id|>"};
    for (int k = 0; k < 3; k++) {
        int *ids, m;
        CHECK(!tt_tokenizer_encode_ex(t, plain[k], strlen(plain[k]), 0, &ids, &m) && m > 2);
        for (int i = 0; i < m; i++) CHECK(ids[i] < 256 || ids[i] == ab);
        free(ids);
    }
    tt_tokenizer_free(t);
}

static void test_from_gguf(void)
{
    tt_synth_opts o;
    CHECK(!tt_synth_preset("tiny", &o));
    char path[256];
    tt_test_tmp(path, sizeof path, "tok");
    CHECK(!tt_synth_write(&o, path));
    tt_gguf *g;
    tt_tokenizer *t;
    CHECK(!tt_gguf_open(path, &g));
    CHECKF(!tt_tokenizer_open(g, &t), "%s", tt_last_error());
    tt_gguf_close(g);
    unlink(path);
    if (!t) return;
    CHECK(tt_tokenizer_n_vocab(t) == o.c.vocab_size && tt_tokenizer_bos(t) == o.c.bos && tt_tokenizer_eos(t) == o.c.eos);
    const char *text = "the synthetic vocabulary merges letters into longer tokens: tea, eat, ate. 0123";
    int *ids, n;
    CHECK(!tt_tokenizer_encode(t, text, strlen(text), true, &ids, &n));
    CHECK(n > 1 && ids[0] == o.c.bos && n - 1 < (int)strlen(text)); /* some merges applied */
    for (int i = 0; i < n; i++) CHECK(ids[i] >= 0 && ids[i] < o.c.vocab_size);
    free(ids);
    round_trip(t, text, strlen(text));
    tt_tokenizer_free(t);
}

/* tokenizer.ggml.eot_token_id, when the file has it, overrides the "<|eot_id|>" lookup. */
static void test_eot_from_gguf(void)
{
    const char *toks[258];
    char bytes[256][4];
    int32_t types[258];
    for (int b = 0; b < 256; b++) {
        bytes[b][tt_bpe_byte_to_utf8((uint8_t)b, bytes[b])] = 0;
        toks[b] = bytes[b];
        types[b] = 1;
    }
    toks[256] = "<|eot_id|>", toks[257] = "<|my_eot|>";
    types[256] = types[257] = 3;
    for (int with_key = 0; with_key < 2; with_key++) {
        tt_gguf_writer *w;
        CHECK(!tt_gguf_writer_new(&w));
        CHECK(!tt_gguf_writer_kv_str(w, "tokenizer.ggml.model", "gpt2"));
        CHECK(!tt_gguf_writer_kv_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 258));
        CHECK(!tt_gguf_writer_kv_arr(w, "tokenizer.ggml.token_type", TT_GGUF_I32, types, 258));
        CHECK(!tt_gguf_writer_kv_arr_str(w, "tokenizer.ggml.merges", NULL, NULL, 0));
        if (with_key) CHECK(!tt_gguf_writer_kv_u32(w, "tokenizer.ggml.eot_token_id", 257));
        size_t len;
        uint8_t *buf = tt_test_writer_to_mem(w, &len, NULL, NULL, 0);
        tt_gguf_writer_free(w);
        tt_gguf *g = NULL;
        tt_tokenizer *t = NULL;
        CHECKF(buf && !tt_gguf_open_mem(buf, len, &g) && !tt_tokenizer_open(g, &t), "%s", tt_last_error());
        if (t) {
            CHECK(tt_tokenizer_eot(t) == (with_key ? 257 : 256) && tt_tokenizer_is_eog(t, with_key ? 257 : 256));
            CHECK(tt_tokenizer_bos(t) == -1 && tt_tokenizer_eos(t) == -1);
        }
        tt_tokenizer_free(t);
        tt_gguf_close(g);
        free(buf);
    }
}

int main(void)
{
    test_small_vocab();
    test_special_and_ignore_merges();
    test_from_gguf();
    test_eot_from_gguf();
    return tt_test_end("test_tokenizer");
}
