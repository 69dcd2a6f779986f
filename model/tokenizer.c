/* tokenizer.c — byte-level BPE as GPT-2 / Llama 3 use it:
 *   1. pre-tokenize the text into chunks (words with their leading space, numbers, punctuation runs, whitespace);
 *   2. map each byte of a chunk to its GPT-2 "byte-to-unicode" character (printable stand-ins for every byte);
 *   3. start from one symbol per byte and repeatedly merge the adjacent pair with the lowest merge rank
 *      (tokenizer.ggml.merges, "left right", rank = line index) until no pair has a rank;
 *   4. look each final symbol up in the vocabulary (tokenizer.ggml.tokens).
 * Decoding maps the characters of each token back to bytes.
 *
 * Simplified against llama-bpe's regex
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * - \p{L} is ASCII letters plus every byte >= 0x80 (so all non-ASCII UTF-8 counts as letters; non-ASCII
 *   punctuation, digits and spaces are therefore glued to words);
 * - \p{N} is ASCII digits; \s is ASCII space, \t, \n, \r, \v, \f;
 * - special (control) tokens written in the text are not recognised: they are encoded as plain text.
 * For ASCII text the split is the regex's. */
#include "tokenizer.h"
#include "tt_strmap.h"

#include <stdlib.h>
#include <string.h>

struct tt_tokenizer {
    int n_vocab, bos, eos;
    char **tok;     /* token strings (byte-to-unicode form) */
    size_t *tok_len;
    int32_t *type;  /* 1 normal, 3 control, ... */
    char **merge;   /* "left right" */
    int n_merges;
    tt_strmap vocab;  /* token string -> id */
    tt_strmap ranks;  /* "left right" -> rank */
    int byte_tok[256]; /* id of the single-character token of each byte, -1 if absent */
    int16_t cp_byte[512]; /* inverse mapping: code point (< 512) -> byte, -1 if none */
};

/* GPT-2's mapping: printable bytes stand for themselves, the other 68 map to U+0100.. in byte order. */
static int byte_to_cp(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    int n = 0;
    for (int i = 0; i < b; i++)
        if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255))) n++;
    return 256 + n;
}

static int utf8_put(int cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2; /* code points here are < 0x800 */
}

int tt_bpe_byte_to_utf8(uint8_t b, char out[4]) { return utf8_put(byte_to_cp(b), out); }

void tt_tokenizer_free(tt_tokenizer *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_vocab && t->tok; i++) free(t->tok[i]);
    for (int i = 0; i < t->n_merges && t->merge; i++) free(t->merge[i]);
    free(t->tok);
    free(t->tok_len);
    free(t->type);
    free(t->merge);
    tt_strmap_free(&t->vocab);
    tt_strmap_free(&t->ranks);
    free(t);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

tt_status tt_tokenizer_build(const char *const *tokens, const size_t *lens, const int32_t *types, int n_tokens,
                             const char *const *merges, int n_merges, int bos, int eos, tt_tokenizer **out)
{
    if (!out || (!tokens && n_tokens) || (!merges && n_merges)) return tt_fail(TT_ERR_NULL, "tokenizer: NULL argument");
    *out = NULL;
    if (n_tokens < 1 || n_merges < 0) return tt_fail(TT_ERR_VALUE, "tokenizer: %d tokens, %d merges", n_tokens, n_merges);
    tt_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
    t->bos = bos >= 0 && bos < n_tokens ? bos : -1;
    t->eos = eos >= 0 && eos < n_tokens ? eos : -1;
    t->tok = calloc((size_t)n_tokens, sizeof *t->tok);
    t->tok_len = calloc((size_t)n_tokens, sizeof *t->tok_len);
    t->type = calloc((size_t)n_tokens, sizeof *t->type);
    t->merge = calloc((size_t)n_merges + 1, sizeof *t->merge);
    if (!t->tok || !t->tok_len || !t->type || !t->merge || tt_strmap_init(&t->vocab, (size_t)n_tokens) ||
        tt_strmap_init(&t->ranks, (size_t)n_merges))
        goto nomem;
    for (int i = 0; i < n_tokens; i++) {
        size_t n = lens ? lens[i] : strlen(tokens[i]);
        if (!(t->tok[i] = dup_n(tokens[i], n))) goto nomem;
        t->n_vocab = i + 1;
        t->tok_len[i] = n;
        t->type[i] = types ? types[i] : 1;
        if (t->type[i] != 3 && tt_strmap_put(&t->vocab, t->tok[i], n, i)) goto nomem; /* first id wins */
    }
    for (int i = 0; i < n_merges; i++) {
        if (!(t->merge[i] = strdup(merges[i]))) goto nomem;
        t->n_merges = i + 1;
        if (tt_strmap_put(&t->ranks, t->merge[i], strlen(t->merge[i]), i)) goto nomem;
    }
    for (int b = 0; b < 256; b++) {
        char s[4];
        t->byte_tok[b] = tt_strmap_get(&t->vocab, s, (size_t)tt_bpe_byte_to_utf8((uint8_t)b, s));
    }
    for (int i = 0; i < 512; i++) t->cp_byte[i] = -1;
    for (int b = 0; b < 256; b++) t->cp_byte[byte_to_cp(b)] = (int16_t)b;
    *out = t;
    return TT_OK;
nomem:
    tt_tokenizer_free(t);
    return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
}

tt_status tt_tokenizer_open(const tt_gguf *g, tt_tokenizer **out)
{
    const char *model;
    size_t mlen;
    const tt_gguf_kv *tk, *ty = NULL, *mg = NULL;
    tt_status st = tt_gguf_get_str(g, "tokenizer.ggml.model", &model, &mlen);
    if (st) return st;
    if (mlen != 4 || memcmp(model, "gpt2", 4))
        return tt_fail(TT_ERR_UNSUPPORTED, "tokenizer.ggml.model \"%.*s\" unsupported (gpt2 byte-level BPE only)",
                       (int)(mlen > 32 ? 32 : mlen), model);
    if ((st = tt_gguf_get_arr(g, "tokenizer.ggml.tokens", TT_GGUF_STRING, &tk))) return st;
    if ((st = tt_gguf_get_arr(g, "tokenizer.ggml.merges", TT_GGUF_STRING, &mg))) return st;
    if (tt_gguf_find_kv(g, "tokenizer.ggml.token_type") &&
        (st = tt_gguf_get_arr(g, "tokenizer.ggml.token_type", TT_GGUF_I32, &ty)))
        return st;
    if (tk->arr_n < 1 || tk->arr_n > (1u << 24) || mg->arr_n > (1u << 24) || (ty && ty->arr_n != tk->arr_n))
        return tt_fail(TT_ERR_FORMAT, "tokenizer: %llu tokens, %llu merges, %llu token types",
                       (unsigned long long)tk->arr_n, (unsigned long long)mg->arr_n,
                       (unsigned long long)(ty ? ty->arr_n : 0));
    int n = (int)tk->arr_n, nm = (int)mg->arr_n;
    const char **toks = malloc((size_t)n * sizeof *toks), **merges = malloc(((size_t)nm + 1) * sizeof *merges);
    size_t *lens = malloc((size_t)n * sizeof *lens);
    int32_t *types = malloc((size_t)n * sizeof *types);
    char **mcopy = calloc((size_t)nm + 1, sizeof *mcopy);
    if (!toks || !merges || !lens || !types || !mcopy) {
        st = tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        toks[i] = tt_gguf_arr_str(tk, (uint64_t)i, &lens[i]);
        types[i] = ty ? (int32_t)tt_gguf_arr_int(ty, (uint64_t)i) : 1;
    }
    for (int i = 0; i < nm; i++) { /* merges are not NUL-terminated in the file */
        size_t l;
        const char *s = tt_gguf_arr_str(mg, (uint64_t)i, &l);
        if (!(mcopy[i] = dup_n(s, l))) {
            st = tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
            goto out;
        }
        merges[i] = mcopy[i];
    }
    uint32_t bos = UINT32_MAX, eos = UINT32_MAX;
    tt_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos);
    tt_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos);
    st = tt_tokenizer_build(toks, lens, types, n, merges, nm, bos < (uint32_t)n ? (int)bos : -1,
                            eos < (uint32_t)n ? (int)eos : -1, out);
out:
    if (mcopy)
        for (int i = 0; i < nm; i++) free(mcopy[i]);
    free(mcopy);
    free(toks);
    free(merges);
    free(lens);
    free(types);
    return st;
}

int tt_tokenizer_n_vocab(const tt_tokenizer *t) { return t->n_vocab; }
int tt_tokenizer_bos(const tt_tokenizer *t) { return t->bos; }
int tt_tokenizer_eos(const tt_tokenizer *t) { return t->eos; }

/* ---- pre-tokenizer (see the header comment for what it simplifies) ---- */
static bool is_letter(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static bool is_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static bool is_nl(uint8_t c) { return c == '\n' || c == '\r'; }
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Length of the chunk starting at s[0] (s non-empty). */
static size_t next_chunk(const uint8_t *s, size_t n)
{
    if (s[0] == '\'' && n >= 2) { /* contractions */
        int a = lower(s[1]), b = n >= 3 ? lower(s[2]) : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
    size_t i = 0;
    /* [^\r\n L N]? L+ */
    if (!is_letter(s[0]) && !is_digit(s[0]) && !is_nl(s[0]) && n >= 2 && is_letter(s[1])) i = 1;
    if (is_letter(s[i])) {
        while (i < n && is_letter(s[i])) i++;
        return i;
    }
    if (is_digit(s[0])) { /* N{1,3} */
        while (i < n && i < 3 && is_digit(s[i])) i++;
        return i;
    }
    /* " ?[^\s L N]+[\r\n]*" */
    i = s[0] == ' ' && n >= 2 && !is_space(s[1]) && !is_letter(s[1]) && !is_digit(s[1]) ? 1 : 0;
    if (!is_space(s[i])) {
        while (i < n && !is_space(s[i]) && !is_letter(s[i]) && !is_digit(s[i])) i++;
        while (i < n && is_nl(s[i])) i++;
        return i;
    }
    /* whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+ */
    size_t j = 0, last_nl = 0;
    while (j < n && is_space(s[j])) {
        if (is_nl(s[j])) last_nl = j + 1;
        j++;
    }
    if (last_nl) return last_nl;
    if (j < n && j > 1) return j - 1; /* leave one space to lead the next word */
    return j;
}

static tt_status push_id(int **ids, int *count, int *cap, int id)
{
    if (*count == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        int *p = realloc(*ids, (size_t)nc * sizeof *p);
        if (!p) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
        *ids = p;
        *cap = nc;
    }
    (*ids)[(*count)++] = id;
    return TT_OK;
}

/* BPE on one chunk: symbols are spans of buf (the byte-to-unicode text). */
typedef struct sym {
    size_t off, len;
} sym;

static tt_status bpe_chunk(const tt_tokenizer *t, const uint8_t *s, size_t n, int **ids, int *count, int *cap)
{
    char *buf = malloc(2 * n + 1), *key = malloc(4 * n + 2);
    sym *sy = malloc(n * sizeof *sy);
    if (!buf || !key || !sy) {
        free(buf), free(key), free(sy);
        return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
    }
    size_t bl = 0, ns = n;
    for (size_t i = 0; i < n; i++) {
        int l = tt_bpe_byte_to_utf8(s[i], buf + bl);
        sy[i] = (sym){bl, (size_t)l};
        bl += (size_t)l;
    }
    for (;;) { /* merge the best-ranked adjacent pair until none has a rank */
        int best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            size_t l = sy[i].len + 1 + sy[i + 1].len;
            memcpy(key, buf + sy[i].off, sy[i].len);
            key[sy[i].len] = ' ';
            memcpy(key + sy[i].len + 1, buf + sy[i + 1].off, sy[i + 1].len);
            int r = tt_strmap_get(&t->ranks, key, l);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                at = i;
            }
        }
        if (best < 0) break;
        sy[at].len += sy[at + 1].len; /* adjacent spans: the merged symbol is contiguous in buf */
        memmove(sy + at + 1, sy + at + 2, (ns - at - 2) * sizeof *sy);
        ns--;
    }
    tt_status st = TT_OK;
    for (size_t i = 0; i < ns && !st; i++) {
        int id = tt_strmap_get(&t->vocab, buf + sy[i].off, sy[i].len);
        if (id >= 0) {
            st = push_id(ids, count, cap, id);
            continue;
        }
        /* A merge result missing from the vocabulary: fall back to its byte tokens. */
        for (size_t p = sy[i].off; p < sy[i].off + sy[i].len && !st;) {
            uint8_t c0 = (uint8_t)buf[p];
            int cp = c0 < 0x80 ? c0 : ((c0 & 0x1F) << 6) | ((uint8_t)buf[p + 1] & 0x3F);
            p += c0 < 0x80 ? 1 : 2;
            int b = cp < 512 ? t->cp_byte[cp] : -1;
            if (b < 0 || t->byte_tok[b] < 0)
                st = tt_fail(TT_ERR_VALUE, "tokenizer: the vocabulary lacks the token for byte 0x%02x", b < 0 ? 0 : b);
            else
                st = push_id(ids, count, cap, t->byte_tok[b]);
        }
    }
    free(buf), free(key), free(sy);
    return st;
}

tt_status tt_tokenizer_encode(const tt_tokenizer *t, const char *text, size_t len, bool add_bos, int **ids, int *n)
{
    if (!t || (!text && len) || !ids || !n) return tt_fail(TT_ERR_NULL, "tokenizer: NULL argument");
    *ids = NULL;
    *n = 0;
    int cap = 0;
    tt_status st = TT_OK;
    if (add_bos && t->bos >= 0) {
        if (!(*ids = malloc(64 * sizeof **ids))) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
        cap = 64;
        (*ids)[(*n)++] = t->bos;
    }
    const uint8_t *s = (const uint8_t *)text;
    while (len && !st) {
        size_t c = next_chunk(s, len);
        st = bpe_chunk(t, s, c, ids, n, &cap);
        s += c;
        len -= c;
    }
    if (st) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return st;
}

size_t tt_tokenizer_decode(const tt_tokenizer *t, int id, char *buf, size_t cap)
{
    if (!t || id < 0 || id >= t->n_vocab || t->type[id] == 3) return 0;
    const uint8_t *s = (const uint8_t *)t->tok[id];
    size_t n = t->tok_len[id], out = 0;
    for (size_t i = 0; i < n;) {
        int cp, l;
        if (s[i] < 0x80) cp = s[i], l = 1;
        else if ((s[i] & 0xE0) == 0xC0 && i + 1 < n) cp = ((s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F), l = 2;
        else cp = -1, l = 1;
        int b = cp >= 0 && cp < 512 ? t->cp_byte[cp] : -1;
        if (b < 0) { /* not a byte stand-in (e.g. a user-defined token): copy the raw UTF-8 */
            for (int j = 0; j < l; j++, out++)
                if (out < cap) buf[out] = (char)s[i + j];
        } else {
            if (out < cap) buf[out] = (char)b;
            out++;
        }
        i += (size_t)l;
    }
    return out;
}
