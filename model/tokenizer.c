/* tokenizer.c — byte-level BPE that reproduces llama.cpp's llama_tokenize for vocab type BPE with pre-tokenizer
 * "llama-bpe" (Llama 3). Behaviour reference: llama.cpp src/llama-vocab.cpp (tokenizer_st_partition,
 * llm_tokenizer_bpe_session) and src/unicode.cpp (unicode_cpts_from_utf8, unicode_regex_split_custom_llama3);
 * golden ids from independent tokenizers over the real Llama 3 vocabulary are in tests/data/tokenizer/.
 *
 *   1. Special tokens. The vocabulary entries of type CONTROL (3), UNKNOWN (2) and USER_DEFINED (4) are cut out
 *      of the raw bytes first, longest text first (ties: lower id first): each one splits every plain-text piece
 *      left so far at each of its occurrences (left to right), and the matched piece becomes that token's id.
 *      Without TT_TOK_PARSE_SPECIAL the CONTROL and UNKNOWN ones are skipped, USER_DEFINED ones still apply.
 *   2. UTF-8. Each plain-text piece is decoded the way llama.cpp's unicode_cpts_from_utf8 does: a lead byte
 *      0xxxxxxx / 110xxxxx / 1110xxxx / 11110xxx followed by 0 / 1 / 2 / 3 continuation bytes (10xxxxxx) is one
 *      code point, with no check for overlong forms or surrogates; anything else (a stray continuation byte,
 *      0xF8..0xFF, a truncated sequence) becomes U+FFFD and decoding moves on ONE byte. The bytes BPE sees are
 *      the shortest UTF-8 of those code points, so an invalid byte becomes EF BF BD and the overlong C0 80 becomes
 *      00. Deviation: a 4-byte sequence above U+10FFFF makes llama.cpp throw (unicode_cpt_to_utf8); here its lead
 *      byte counts as invalid (U+FFFD, move on one byte). Surrogates (ED A0..BF xx) are kept as their 3 bytes.
 *   3. Pre-tokenizer: the Llama 3 regex
 *        (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *        ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *      (the second line starts with a space), matched left to right, each match one pre-token, with PCRE2
 *      (libpcre2-8) under PCRE2_UTF | PCRE2_UCP, JIT-compiled when the library has JIT. The contractions are
 *      case-insensitive only for ASCII letters, as llama.cpp (unicode_tolower maps nothing else onto s t r e v m
 *      l d; HF's (?i:) with Unicode case folding would also take U+017F for s, and U+212A for k, which no
 *      contraction has; transformers.js spells them [sS] ... as here). \s must be llama.cpp's whitespace set
 *      (unicode_set_whitespace = Unicode White_Space: 9-D 20 85 A0 1680 2000-200A 2028 2029 202F 205F 3000);
 *      PCRE2 10.42's \s under UCP is that set plus U+180E, so the compiled pattern writes \s as [^\S\x{180E}]
 *      and [^\s\p{L}\p{N}] as (?:[^\s\p{L}\p{N}]|\x{180E}). \p{L} / \p{N} are PCRE2's general categories
 *      (Unicode 14 in PCRE2 10.42; llama.cpp's tables are newer, so letters and digits first assigned after
 *      Unicode 14 split differently). Surrogates are matched as U+FFFD (same classes: none of L, N, \s).
 *   4. ignore_merges (llama.cpp sets it for llama-bpe): a pre-token whose byte-level text is a vocabulary entry
 *      is that token, without merges (Llama 3 has entries that merges cannot build, e.g. " Việt").
 *   5. BPE: the pre-token's bytes map to GPT-2's byte-to-unicode characters, one symbol each; the adjacent pair
 *      with the lowest merge rank (tokenizer.ggml.merges, rank = index) merges first, the leftmost one on equal
 *      ranks, until no adjacent pair has a rank; O(n log n) with a linked list of symbols and a min-heap of
 *      (rank, left position) candidates whose stale entries are skipped. A final symbol missing from the
 *      vocabulary falls back to its byte tokens.
 *   6. BOS first when TT_TOK_ADD_BOS is set and the vocabulary has one.
 * Decoding maps the characters of each token back to bytes. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer.h"
#include "tt_strmap.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

struct tt_tokenizer {
    int n_vocab, bos, eos, eot, eom;
    char **tok;     /* token strings as stored (byte-to-unicode form for normal tokens) */
    size_t *tok_len;
    int32_t *type;  /* TT_TOKTYPE_* */
    char **merge;   /* "left right" */
    int n_merges;
    tt_strmap vocab;  /* token string -> id, every type (llama.cpp's token_to_id: the last id wins) */
    tt_strmap ranks;  /* "left right" -> rank (the first, lowest rank wins) */
    int byte_tok[256]; /* id of the single-character token of each byte, -1 if absent */
    int16_t cp_byte[512]; /* inverse mapping: code point (< 512) -> byte, -1 if none */
    char byte_str[256][2]; /* the UTF-8 of each byte's stand-in (1 or 2 bytes), computed once */
    uint8_t byte_str_len[256];
    int *special;     /* CONTROL / UNKNOWN / USER_DEFINED ids, longest text first, then lower id */
    int n_special;
    pcre2_code *re;   /* the split regex (see the header comment) */
};

/* The Llama 3 split regex in PCRE2 spelling: \s written as [^\S\x{180E}] (PCRE2's \s has U+180E, llama.cpp's
 * whitespace set does not) and [^\s\p{L}\p{N}] given U+180E back. Anchored: every match starts where the last
 * ended. */
static const char split_regex[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}{1,3}"
    "| ?(?:[^\\s\\p{L}\\p{N}]|\\x{180E})+[\\r\\n]*"
    "|[^\\S\\x{180E}]*[\\r\\n]+"
    "|[^\\S\\x{180E}]+(?![\\S\\x{180E}])"
    "|[^\\S\\x{180E}]+";

/* GPT-2's mapping: printable bytes stand for themselves, the other 68 map to U+0100.. in byte order. */
static int byte_to_cp(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    int n = 0;
    for (int i = 0; i < b; i++)
        if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255))) n++;
    return 256 + n;
}

/* Shortest UTF-8 of cp (<= 0x10FFFF; surrogates encode like any other 3-byte code point). */
static int utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int tt_bpe_byte_to_utf8(uint8_t b, char out[4]) { return utf8_put((uint32_t)byte_to_cp(b), out); }

/* One code point from s[0..n) by llama.cpp's rules (header comment, step 2); returns the bytes consumed. */
static size_t utf8_get_llama(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t b = s[0];
    size_t need = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 4;
    if (need == 0) {
        *cp = b;
        return 1;
    }
    if (need == 4 || (b & 0xC0) == 0x80 || need >= n) goto invalid; /* stray continuation, F8..FF, truncated */
    uint32_t c = b & (0x7Fu >> (need + 1));
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) goto invalid;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c > 0x10FFFF) goto invalid; /* llama.cpp throws here; see the header comment */
    *cp = c;
    return need + 1;
invalid:
    *cp = 0xFFFD;
    return 1;
}

void tt_tokenizer_free(tt_tokenizer *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_vocab && t->tok; i++) free(t->tok[i]);
    for (int i = 0; i < t->n_merges && t->merge; i++) free(t->merge[i]);
    free(t->tok);
    free(t->tok_len);
    free(t->type);
    free(t->merge);
    free(t->special);
    tt_strmap_free(&t->vocab);
    tt_strmap_free(&t->ranks);
    pcre2_code_free(t->re);
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

static bool is_special_type(int32_t ty)
{
    return ty == TT_TOKTYPE_CONTROL || ty == TT_TOKTYPE_UNKNOWN || ty == TT_TOKTYPE_USER_DEFINED;
}

/* Longest text first, then the lower id: the order llama.cpp tries special tokens in (its sort is by length;
 * the id breaks ties so the result does not depend on the sort). A few hundred entries: insertion sort. */
static void sort_specials(const tt_tokenizer *t, int *ids, int n)
{
    for (int i = 1; i < n; i++) {
        int v = ids[i], j = i;
        while (j > 0) {
            int u = ids[j - 1];
            size_t lu = t->tok_len[u], lv = t->tok_len[v];
            if (lu > lv || (lu == lv && u < v)) break;
            ids[j] = u;
            j--;
        }
        ids[j] = v;
    }
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
    t->special = calloc((size_t)n_tokens, sizeof *t->special);
    if (!t->tok || !t->tok_len || !t->type || !t->merge || !t->special ||
        tt_strmap_init(&t->vocab, (size_t)n_tokens) || tt_strmap_init(&t->ranks, (size_t)n_merges))
        goto nomem;
    for (int i = 0; i < n_tokens; i++) {
        size_t n = lens ? lens[i] : strlen(tokens[i]);
        if (!(t->tok[i] = dup_n(tokens[i], n))) goto nomem;
        t->n_vocab = i + 1;
        t->tok_len[i] = n;
        t->type[i] = types ? types[i] : TT_TOKTYPE_NORMAL;
        if (is_special_type(t->type[i]) && n > 0) t->special[t->n_special++] = i;
    }
    for (int i = n_tokens - 1; i >= 0; i--) /* the map keeps the first insertion: go backwards for last-id-wins */
        if (tt_strmap_put(&t->vocab, t->tok[i], t->tok_len[i], i)) goto nomem;
    sort_specials(t, t->special, t->n_special);
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
    for (int b = 0; b < 256; b++) {
        char s[4];
        int l = tt_bpe_byte_to_utf8((uint8_t)b, s);
        t->cp_byte[byte_to_cp(b)] = (int16_t)b;
        memcpy(t->byte_str[b], s, (size_t)l);
        t->byte_str_len[b] = (uint8_t)l;
    }
    t->eot = tt_tokenizer_find(t, "<|eot_id|>");
    t->eom = tt_tokenizer_find(t, "<|eom_id|>");

    int err;
    PCRE2_SIZE err_off;
    t->re = pcre2_compile((PCRE2_SPTR)split_regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED,
                          &err, &err_off, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        tt_tokenizer_free(t);
        return tt_fail(TT_ERR_UNSUPPORTED, "tokenizer: PCRE2 rejects the split regex at %zu: %s", (size_t)err_off,
                       (const char *)msg);
    }
    (void)pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* no JIT (or it fails): pcre2_match interprets */
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
        types[i] = ty ? (int32_t)tt_gguf_arr_int(ty, (uint64_t)i) : TT_TOKTYPE_NORMAL;
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
    uint32_t bos = UINT32_MAX, eos = UINT32_MAX, eot = UINT32_MAX;
    tt_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos);
    tt_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos);
    st = tt_tokenizer_build(toks, lens, types, n, merges, nm, bos < (uint32_t)n ? (int)bos : -1,
                            eos < (uint32_t)n ? (int)eos : -1, out);
    /* An explicit eot_token_id overrides the "<|eot_id|>" lookup that build did. */
    if (!st && tt_gguf_find_kv(g, "tokenizer.ggml.eot_token_id") &&
        !tt_gguf_get_u32(g, "tokenizer.ggml.eot_token_id", &eot) && eot < (uint32_t)n)
        (*out)->eot = (int)eot;
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
int tt_tokenizer_eot(const tt_tokenizer *t) { return t->eot; }

bool tt_tokenizer_is_eog(const tt_tokenizer *t, int id)
{
    return id >= 0 && (id == t->eos || id == t->eot || id == t->eom);
}

int tt_tokenizer_find(const tt_tokenizer *t, const char *token_text)
{
    return t && token_text ? tt_strmap_get(&t->vocab, token_text, strlen(token_text)) : -1;
}

const char *tt_tokenizer_token_text(const tt_tokenizer *t, int id, size_t *len)
{
    if (!t || id < 0 || id >= t->n_vocab) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->tok_len[id];
    return t->tok[id];
}

int tt_tokenizer_token_type(const tt_tokenizer *t, int id)
{
    return t && id >= 0 && id < t->n_vocab ? t->type[id] : 0;
}

/* ---- encoding ---- */

typedef struct cand { /* a candidate merge of symbols left and right (symbol = index of its first byte) */
    int rank, left, right;
    size_t size; /* byte-level length of the pair when pushed: any later change to either side alters it */
} cand;

typedef struct enc {
    const tt_tokenizer *t;
    int *ids;
    int n, cap;
    pcre2_match_data *md;
    /* scratch, grown as needed and reused across pieces and pre-tokens */
    char *norm, *subj, *buf, *key;
    size_t norm_cap, subj_cap, buf_cap, key_cap;
    size_t *off, *len; /* per symbol: offset and byte length in buf (len 0: merged into a left neighbour) */
    int *prev, *next;
    size_t sym_cap;
    cand *heap;
    size_t heap_n, heap_cap;
} enc;

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

static tt_status push_id(enc *e, int id)
{
    if (e->n == e->cap) {
        size_t cap = (size_t)e->cap;
        if (e->cap > (1 << 29) || !grow((void **)&e->ids, &cap, cap + 1, sizeof *e->ids))
            return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
        e->cap = (int)cap;
    }
    e->ids[e->n++] = id;
    return TT_OK;
}

static bool cand_less(const cand *a, const cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static bool heap_push(enc *e, cand c)
{
    if (!grow((void **)&e->heap, &e->heap_cap, e->heap_n + 1, sizeof *e->heap)) return false;
    size_t i = e->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &e->heap[p])) break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = c;
    return true;
}

static cand heap_pop(enc *e)
{
    cand top = e->heap[0], last = e->heap[--e->heap_n];
    size_t i = 0, n = e->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(&e->heap[c + 1], &e->heap[c])) c++;
        if (!cand_less(&e->heap[c], &last)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n) e->heap[i] = last;
    return top;
}

/* Queue the merge of symbols l and r if the merge list has it. */
static bool add_cand(enc *e, int l, int r)
{
    if (l < 0 || r < 0) return true;
    size_t ll = e->len[l], rl = e->len[r];
    memcpy(e->key, e->buf + e->off[l], ll);
    e->key[ll] = ' ';
    memcpy(e->key + ll + 1, e->buf + e->off[r], rl);
    int rank = tt_strmap_get(&e->t->ranks, e->key, ll + 1 + rl);
    return rank < 0 || heap_push(e, (cand){rank, l, r, ll + rl});
}

/* Emit the token of buf[o, o+l): its vocabulary id, else its byte tokens. */
static tt_status emit_symbol(enc *e, size_t o, size_t l)
{
    const tt_tokenizer *t = e->t;
    int id = tt_strmap_get(&t->vocab, e->buf + o, l);
    if (id >= 0) return push_id(e, id);
    tt_status st = TT_OK;
    for (size_t p = o; p < o + l && !st;) {
        uint8_t c0 = (uint8_t)e->buf[p];
        int cp = c0 < 0x80 ? c0 : ((c0 & 0x1F) << 6) | ((uint8_t)e->buf[p + 1] & 0x3F);
        p += c0 < 0x80 ? 1 : 2; /* byte stand-ins are < U+0200: one or two UTF-8 bytes */
        int b = cp < 512 ? t->cp_byte[cp] : -1;
        if (b < 0 || t->byte_tok[b] < 0)
            st = tt_fail(TT_ERR_VALUE, "tokenizer: the vocabulary lacks the token for byte 0x%02x", b < 0 ? 0 : b);
        else
            st = push_id(e, t->byte_tok[b]);
    }
    return st;
}

/* One pre-token w[0..n) (n > 0): ignore_merges lookup, else BPE. */
static tt_status bpe_word(enc *e, const uint8_t *w, size_t n)
{
    if (n > (size_t)1 << 30) return tt_fail(TT_ERR_VALUE, "tokenizer: a %zu-byte pre-token", n);
    if (!grow((void **)&e->buf, &e->buf_cap, 2 * n, 1) || !grow((void **)&e->key, &e->key_cap, 2 * n + 1, 1))
        return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
    if (n > e->sym_cap) { /* the four per-symbol arrays share one capacity */
        size_t c = 2 * n;
        size_t *o = realloc(e->off, c * sizeof *o), *l = o ? realloc(e->len, c * sizeof *l) : NULL;
        if (o) e->off = o;
        if (l) e->len = l;
        int *pv = l ? realloc(e->prev, c * sizeof *pv) : NULL;
        if (pv) e->prev = pv;
        int *nx = pv ? realloc(e->next, c * sizeof *nx) : NULL;
        if (!nx) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
        e->next = nx;
        e->sym_cap = c;
    }
    size_t bl = 0;
    for (size_t i = 0; i < n; i++) {
        int l = e->t->byte_str_len[w[i]];
        memcpy(e->buf + bl, e->t->byte_str[w[i]], (size_t)l);
        e->off[i] = bl;
        e->len[i] = (size_t)l;
        e->prev[i] = (int)i - 1;
        e->next[i] = i + 1 < n ? (int)i + 1 : -1;
        bl += (size_t)l;
    }
    int whole = tt_strmap_get(&e->t->vocab, e->buf, bl);
    if (whole >= 0) return push_id(e, whole);
    e->heap_n = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (!add_cand(e, (int)i, (int)i + 1)) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
    while (e->heap_n) {
        cand c = heap_pop(e);
        /* Stale if either side has merged since: a side that merged into its left neighbour has len 0, a side
         * that grew changes the sum (lengths only grow), and adjacency is checked for good measure. */
        if (!e->len[c.left] || !e->len[c.right] || e->next[c.left] != c.right ||
            e->len[c.left] + e->len[c.right] != c.size)
            continue;
        e->len[c.left] += e->len[c.right]; /* adjacent spans of buf: the merged symbol stays contiguous */
        e->len[c.right] = 0;
        int nx = e->next[c.right];
        e->next[c.left] = nx;
        if (nx >= 0) e->prev[nx] = c.left;
        if (!add_cand(e, e->prev[c.left], c.left) || !add_cand(e, c.left, nx))
            return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
    }
    tt_status st = TT_OK;
    for (int i = 0; i >= 0 && !st; i = e->next[i]) st = emit_symbol(e, e->off[i], e->len[i]);
    return st;
}

static size_t utf8_len_at(const uint8_t *s, size_t n) /* length of the (valid) UTF-8 character at s */
{
    size_t l = s[0] < 0x80 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    return l < n ? l : n;
}

/* A run of plain text (no special tokens in it): decode, split with the regex, BPE each pre-token. */
static tt_status encode_text(enc *e, const uint8_t *s, size_t n)
{
    if (!grow((void **)&e->norm, &e->norm_cap, 3 * n, 1)) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
    size_t nl = 0;
    bool surrogates = false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += utf8_get_llama(s + i, n - i, &cp);
        surrogates |= cp >= 0xD800 && cp < 0xE000;
        nl += (size_t)utf8_put(cp, e->norm + nl); /* never longer than the bytes read, or 3 for 1 invalid byte */
    }
    /* PCRE2 wants valid UTF-8: the subject it sees has each surrogate as U+FFFD (same length, same classes). */
    const char *subj = e->norm;
    if (surrogates) {
        if (!grow((void **)&e->subj, &e->subj_cap, nl, 1)) return tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
        memcpy(e->subj, e->norm, nl);
        for (size_t i = 0; i + 2 < nl; i++)
            if ((uint8_t)e->subj[i] == 0xED && ((uint8_t)e->subj[i + 1] & 0xE0) == 0xA0)
                memcpy(e->subj + i, "\xEF\xBF\xBD", 3);
        subj = e->subj;
    }
    tt_status st = TT_OK;
    for (size_t pos = 0; pos < nl && !st;) {
        int rc = pcre2_match(e->t->re, (PCRE2_SPTR)subj, nl, pos, PCRE2_NO_UTF_CHECK, e->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* JIT's stack is small; the interpreter keeps its frames on the heap */
            rc = pcre2_match(e->t->re, (PCRE2_SPTR)subj, nl, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, e->md, NULL);
        size_t end;
        if (rc >= 0)
            end = pcre2_get_ovector_pointer(e->md)[1];
        else if (rc == PCRE2_ERROR_NOMATCH) /* cannot happen with this regex; llama.cpp takes one code point */
            end = pos;
        else
            return tt_fail(TT_ERR_VALUE, "tokenizer: PCRE2 match error %d", rc);
        if (end <= pos) end = pos + utf8_len_at((const uint8_t *)subj + pos, nl - pos);
        st = bpe_word(e, (const uint8_t *)e->norm + pos, end - pos);
        pos = end;
    }
    return st;
}

typedef struct frag { /* a piece of the input: plain text (id -1) or one special token */
    size_t off, len;
    int id;
} frag;

tt_status tt_tokenizer_encode_ex(const tt_tokenizer *t, const char *text, size_t len, unsigned flags, int **ids,
                                 int *n)
{
    if (!t || (!text && len) || !ids || !n) return tt_fail(TT_ERR_NULL, "tokenizer: NULL argument");
    *ids = NULL;
    *n = 0;
    enc e = {.t = t};
    frag *fr = NULL, *nf = NULL;
    size_t nfr = 0, fr_cap = 0, nf_cap = 0;
    tt_status st = TT_OK;
    if (!(e.md = pcre2_match_data_create_from_pattern(t->re, NULL))) goto nomem;
    if ((flags & TT_TOK_ADD_BOS) && t->bos >= 0 && (st = push_id(&e, t->bos))) goto out;
    if (len) {
        if (!grow((void **)&fr, &fr_cap, 1, sizeof *fr)) goto nomem;
        fr[nfr++] = (frag){0, len, -1};
    }
    /* Special tokens, longest first: each splits every plain piece left at each of its occurrences. */
    for (int k = 0; k < t->n_special && nfr; k++) {
        int id = t->special[k];
        if (!(flags & TT_TOK_PARSE_SPECIAL) && t->type[id] != TT_TOKTYPE_USER_DEFINED) continue;
        const char *sp = t->tok[id];
        size_t sl = t->tok_len[id], m = 0;
        bool hit = false;
        for (size_t i = 0; i < nfr && !hit; i++)
            hit = fr[i].id < 0 && memmem(text + fr[i].off, fr[i].len, sp, sl);
        if (!hit) continue;
        for (size_t i = 0; i < nfr; i++) {
            if (fr[i].id >= 0) {
                if (!grow((void **)&nf, &nf_cap, m + 1, sizeof *nf)) goto nomem;
                nf[m++] = fr[i];
                continue;
            }
            size_t o = fr[i].off, end = fr[i].off + fr[i].len;
            for (;;) {
                const char *p = memmem(text + o, end - o, sp, sl);
                size_t at = p ? (size_t)(p - text) : end;
                if (!grow((void **)&nf, &nf_cap, m + 2, sizeof *nf)) goto nomem;
                if (at > o) nf[m++] = (frag){o, at - o, -1};
                if (!p) break;
                nf[m++] = (frag){at, sl, id};
                o = at + sl;
            }
        }
        frag *tmp = fr;
        fr = nf;
        nf = tmp;
        size_t tc = fr_cap;
        fr_cap = nf_cap;
        nf_cap = tc;
        nfr = m;
    }
    for (size_t i = 0; i < nfr && !st; i++)
        st = fr[i].id >= 0 ? push_id(&e, fr[i].id) : encode_text(&e, (const uint8_t *)text + fr[i].off, fr[i].len);
    goto out;
nomem:
    st = tt_fail(TT_ERR_NOMEM, "tokenizer: no memory");
out:
    pcre2_match_data_free(e.md);
    free(e.norm), free(e.subj), free(e.buf), free(e.key);
    free(e.off), free(e.len), free(e.prev), free(e.next), free(e.heap);
    free(fr), free(nf);
    if (st || !e.n) {
        free(e.ids);
        e.ids = NULL;
        e.n = 0;
    }
    *ids = e.ids;
    *n = e.n;
    return st;
}

tt_status tt_tokenizer_encode(const tt_tokenizer *t, const char *text, size_t len, bool add_bos, int **ids, int *n)
{
    return tt_tokenizer_encode_ex(t, text, len, add_bos ? TT_TOK_ADD_BOS : 0, ids, n);
}

size_t tt_tokenizer_decode(const tt_tokenizer *t, int id, char *buf, size_t cap)
{
    if (!t || id < 0 || id >= t->n_vocab || t->type[id] == TT_TOKTYPE_CONTROL) return 0;
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
