/* test_tokenizer.c — byte-level BPE on a small vocabulary built here: known merges, merge-rank order, no merges
 * across pre-tokenizer chunks, byte fallback, decode of every byte, encode/decode round trips (ASCII, UTF-8,
 * arbitrary bytes), and the tokenizer read from a synthetic GGUF model. */
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

static void round_trip(const tt_tokenizer *t, const char *text, size_t len)
{
    int *ids, n;
    CHECK(!tt_tokenizer_encode(t, text, len, false, &ids, &n));
    char *out = malloc(len * 2 + 16);
    size_t o = 0;
    for (int i = 0; i < n; i++) o += tt_tokenizer_decode(t, ids[i], out + o, len * 2 + 16 - o);
    CHECKF(o == len && !memcmp(out, text, len), "round trip of %zu bytes gave %zu", len, o);
    free(out);
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

    /* Every byte decodes to itself. */
    for (int b = 0; b < 256; b++) {
        int *one, k;
        char c = (char)b;
        CHECK(!tt_tokenizer_encode(t, &c, 1, false, &one, &k) && k == 1);
        CHECK(k == 1 && tt_tokenizer_decode(t, one[0], buf, sizeof buf) == 1 && (uint8_t)buf[0] == b);
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

int main(void)
{
    test_small_vocab();
    test_from_gguf();
    return tt_test_end("test_tokenizer");
}
