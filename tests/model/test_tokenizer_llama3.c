/* test_tokenizer_llama3.c — the tokenizer against golden ids on the real Llama 3 vocabulary
 * (tests/data/tokenizer/llama3_fixture.txt.gz, made by gen_fixture.mjs there with reference tokenizers that share
 * no code with tritune). Every string must give exactly the golden ids, with special-token parsing on (llama.cpp's
 * default for prompts) and, for strings holding special-token text, off. Then Llama 3 specifics: BOS, eot/eog,
 * ignore_merges, special tokens on/off, invalid UTF-8, the empty string, and the time of a 100 kB word. */
#include "chat.h"
#include "tokenizer.h"
#include "tt_format.h"
#include "tt_model_test.h"

#include <time.h>

static char *read_gz(const char *path, size_t *len)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path); /* gzip is on every Debian; no zlib dependency */
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 24, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n, p)) > 0;) {
        n += r;
        if (n == cap) {
            char *q = realloc(b, cap *= 2);
            if (!q) free(b);
            b = q;
        }
    }
    if (pclose(p) != 0 || !b) {
        free(b);
        return NULL;
    }
    b[n < cap ? n : cap - 1] = 0;
    *len = n;
    return b;
}

/* Next line of the buffer (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **cur)
{
    char *s = *cur;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        *cur = nl + 1;
    } else {
        *cur = s + strlen(s);
    }
    return s;
}

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static void print_escaped(const uint8_t *s, size_t n)
{
    fputc('"', stderr);
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') fputc(s[i], stderr);
        else fprintf(stderr, "\\x%02x", s[i]);
    }
    fputc('"', stderr);
}

static void print_ids(const char *what, const int *ids, int n)
{
    fprintf(stderr, "  %s (%d):", what, n);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

static tt_tokenizer *tok;

static int *encode(const char *s, size_t len, unsigned flags, int *n)
{
    int *ids = NULL;
    tt_status st = tt_tokenizer_encode_ex(tok, s, len, flags, &ids, n);
    CHECKF(!st, "%s", tt_last_error());
    return ids;
}

static bool same_encoding(const char *a, size_t la, const char *b, size_t lb)
{
    int na, nb;
    int *x = encode(a, la, 0, &na), *y = encode(b, lb, 0, &nb);
    bool same = na == nb && (na == 0 || !memcmp(x, y, (size_t)na * sizeof *x));
    free(x);
    free(y);
    return same;
}

static void test_golden(char *cur, int n_tests)
{
    int bad = 0, done = 0;
    for (char *ln; (ln = next_line(&cur));) {
        int special;
        char hex[1 << 16], idl[1 << 17];
        if (sscanf(ln, "t %d %65535s %131071s", &special, hex, idl) != 3) {
            CHECKF(0, "bad test line %.60s", ln);
            break;
        }
        size_t hl = strcmp(hex, "-") ? strlen(hex) : 0, len = hl / 2;
        uint8_t *text = malloc(len + 1);
        for (size_t i = 0; i < len; i++) text[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        int want[4096], nw = 0;
        for (char *p = strcmp(idl, "-") ? idl : idl + 1; *p && nw < 4096;) {
            want[nw++] = (int)strtol(p, &p, 10);
            if (*p == ',') p++;
        }
        int n;
        int *got = encode((const char *)text, len, special ? TT_TOK_PARSE_SPECIAL : 0, &n);
        bool ok = n == nw && (n == 0 || !memcmp(got, want, (size_t)n * sizeof *got));
        if (!ok && ++bad <= 10) {
            fprintf(stderr, "mismatch (parse_special %d) on ", special);
            print_escaped(text, len);
            fputc('\n', stderr);
            print_ids("want", want, nw);
            print_ids("got ", got, n);
        }
        free(got);
        free(text);
        done++;
    }
    CHECKF(done == n_tests, "%d of %d golden strings read", done, n_tests);
    CHECKF(bad == 0, "%d of %d golden strings tokenized differently", bad, done);
    printf("golden: %d strings, %d exact\n", done, done - bad);
}

static void test_specifics(void)
{
    int n, *ids;
    int bos = tt_tokenizer_bos(tok), eot = tt_tokenizer_find(tok, "<|eot_id|>");
    CHECK(bos == 128000 && tt_tokenizer_eos(tok) == 128001 && eot == 128009);
    CHECK(tt_tokenizer_eot(tok) == 128009);
    /* This is the Llama 3.0 vocabulary: no "<|eom_id|>" (128008 is a reserved token). */
    CHECK(tt_tokenizer_is_eog(tok, 128001) && tt_tokenizer_is_eog(tok, 128009) && !tt_tokenizer_is_eog(tok, 128008));
    CHECK(!tt_tokenizer_is_eog(tok, 128000) && !tt_tokenizer_is_eog(tok, 9906) && !tt_tokenizer_is_eog(tok, -1));
    CHECK(tt_tokenizer_find(tok, "Hello") == 9906 && tt_tokenizer_find(tok, "no such token!") == -1);

    /* BOS only on request; the legacy entry point = no special parsing. */
    ids = encode("Hello world", 11, TT_TOK_ADD_BOS, &n);
    CHECK(n == 3 && ids[0] == bos && ids[1] == 9906 && ids[2] == 1917);
    free(ids);
    CHECK(!tt_tokenizer_encode(tok, "Hello", 5, true, &ids, &n) && n == 2 && ids[0] == bos && ids[1] == 9906);
    free(ids);

    /* Special tokens: one id when parsed, plain text (no id >= 128000) when not. */
    const char *chat = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    ids = encode(chat, strlen(chat), TT_TOK_PARSE_SPECIAL, &n);
    CHECK(n == 6 && ids[0] == 128006 && ids[1] == 882 && ids[2] == 128007 && ids[3] == 271 && ids[5] == eot);
    free(ids);
    ids = encode(chat, strlen(chat), 0, &n);
    CHECK(n > 10);
    for (int i = 0; i < n; i++) CHECK(ids[i] < 128000);
    free(ids);
    int *legacy, nl;
    CHECK(!tt_tokenizer_encode(tok, chat, strlen(chat), false, &legacy, &nl));
    ids = encode(chat, strlen(chat), 0, &n);
    CHECK(n == nl && !memcmp(ids, legacy, (size_t)n * sizeof *ids));
    free(ids);
    free(legacy);

    /* Chat rendering (chat.h) through the real vocabulary: a Llama 3 system + user turn opening the assistant's
     * reply is the id sequence Llama 3 instruct models are trained on. */
    CHECK(tt_tokenizer_find(tok, "system") == 9125 && tt_tokenizer_find(tok, "assistant") == 78191);
    char *sys = tt_chat_render(TT_CHAT_LLAMA3, "system", "  Be brief.\n", false);
    char *usr = tt_chat_render(TT_CHAT_LLAMA3, "user", "Hi", true);
    char both[512];
    snprintf(both, sizeof both, "%s%s", sys, usr);
    ids = encode(both, strlen(both), TT_TOK_ADD_BOS | TT_TOK_PARSE_SPECIAL, &n);
    static const int head[] = {128000, 128006, 9125, 128007, 271}, tail[] = {128009, 128006, 78191, 128007, 271};
    CHECK(n > 15 && !memcmp(ids, head, sizeof head) && !memcmp(ids + n - 5, tail, sizeof tail));
    int hi = -1, *one = encode("Hi", 2, 0, &hi), k = 0;
    CHECK(hi == 1 && ids[n - 6] == one[0] && ids[n - 7] == 271 && ids[n - 8] == 128007 && ids[n - 9] == 882);
    for (int i = 0; i < n; i++) k += ids[i] >= 128000;
    CHECK(k == 9); /* BOS, 3 x (header start, header end), 2 x eot: trimmed content adds none */
    free(one), free(ids), free(sys), free(usr);
    /* BitNet 2B4T's format: "User: Hi<|eot_id|>Assistant: ", the end of turn parsed as its one id */
    usr = tt_chat_render(TT_CHAT_BITNET, "user", "Hi", true);
    CHECK(usr && !strcmp(usr, "User: Hi<|eot_id|>Assistant: "));
    ids = encode(usr, strlen(usr), TT_TOK_PARSE_SPECIAL, &n);
    k = 0;
    for (int i = 0; i < n; i++) k += ids[i] == 128009 ? 1 : ids[i] >= 128000 ? 100 : 0;
    CHECK(k == 1);
    free(ids), free(usr);

    /* ignore_merges: " Việt" is one vocabulary entry that the merges cannot build. */
    ids = encode(" Vi\xe1\xbb\x87t", 7, 0, &n);
    CHECK(n == 1 && ids[0] == 101798 && tt_tokenizer_find(tok, "\xc4\xa0Vi\xc3\xa1\xc2\xbb\xc4\xa9t") == 101798);
    free(ids);

    /* Empty input: no ids (BOS alone when asked). */
    ids = encode("", 0, TT_TOK_PARSE_SPECIAL, &n);
    CHECK(n == 0 && !ids);
    ids = encode("", 0, TT_TOK_ADD_BOS, &n);
    CHECK(n == 1 && ids[0] == bos);
    free(ids);

    /* Invalid UTF-8: one U+FFFD per bad byte; overlong forms decode; surrogates keep their bytes; a code point
     * above U+10FFFF is four bad bytes (llama.cpp would throw). */
    CHECK(same_encoding("a\xff" "b", 3, "a\xef\xbf\xbd" "b", 5));
    CHECK(same_encoding("\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6));
    CHECK(same_encoding("x\xc0\x80y", 4, "x\0y", 3));
    CHECK(same_encoding("\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12));
    ids = encode("\xed\xa0\x80!", 4, 0, &n);
    char out[16];
    size_t o = 0;
    for (int i = 0; i < n; i++) o += tt_tokenizer_decode(tok, ids[i], out + o, sizeof out - o);
    CHECK(o == 4 && !memcmp(out, "\xed\xa0\x80!", 4));
    free(ids);

    /* 100 kB single words: O(n log n) BPE (reported, not a timing assertion): random letters, one repeated
     * letter (every pair ties), Han characters (3-byte UTF-8, few merges). */
    size_t big = 100 * 1000;
    char *w = malloc(big + 4);
    for (int kind = 0; kind < 3; kind++) {
        uint64_t rng = 11;
        size_t len = 0;
        while (len < big) {
            if (kind == 0) w[len++] = (char)('a' + tt_rand_next(&rng) % 26);
            else if (kind == 1) w[len++] = 'a';
            else len += (size_t)sprintf(w + len, "%s", (const char *[]){"\xe4\xb8\xad", "\xe6\x96\x87", "\xe5\xad\x97"}[tt_rand_next(&rng) % 3]);
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ids = encode(w, len, 0, &n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        CHECK(n > 10);
        printf("%zu-byte single word (%s): %d tokens in %.4f s\n", len,
               (const char *[]){"random a-z", "all 'a'", "random Han"}[kind], n, s);
        free(ids);
    }
    free(w);
}

int main(void)
{
    const char *src = getenv("TT_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/tokenizer/llama3_fixture.txt.gz", src && *src ? src : ".");
    size_t len;
    char *data = read_gz(path, &len);
    CHECKF(data != NULL, "cannot read %s", path);
    if (!data) return tt_test_end("test_tokenizer_llama3");
    char *cur = data, *ln;
    int n_vocab = 0, n_merges = 0, n_tests = 0;
    ln = next_line(&cur);
    CHECK(ln && !strcmp(ln, "tritune-llama3-tokenizer-fixture 1"));
    while ((ln = next_line(&cur)) && ln[0] == '#') {}
    CHECK(ln && sscanf(ln, "vocab %d", &n_vocab) == 1 && n_vocab > 0);
    const char **toks = calloc((size_t)n_vocab, sizeof *toks);
    int32_t *types = calloc((size_t)n_vocab, sizeof *types);
    for (int i = 0; i < n_vocab && (ln = next_line(&cur)); i++) { /* "type token" */
        types[i] = ln[0] - '0';
        toks[i] = ln + 2;
    }
    ln = next_line(&cur);
    CHECK(ln && sscanf(ln, "merges %d", &n_merges) == 1 && n_merges > 0);
    const char **merges = calloc((size_t)n_merges, sizeof *merges);
    for (int i = 0; i < n_merges && (merges[i] = next_line(&cur)); i++) {}
    ln = next_line(&cur);
    CHECK(ln && sscanf(ln, "tests %d", &n_tests) == 1 && n_tests >= 1000);
    tt_status st = tt_tokenizer_build(toks, NULL, types, n_vocab, merges, n_merges, 128000, 128001, &tok);
    CHECKF(!st, "%s", tt_last_error());
    if (tok) {
        test_golden(cur, n_tests);
        test_specifics();
        tt_tokenizer_free(tok);
    }
    free(toks);
    free(types);
    free(merges);
    free(data);
    return tt_test_end("test_tokenizer_llama3");
}
