/* cmd_tokenize.c — `tritune tokenize`: the ids (and pieces) a model's tokenizer gives a text, as llama.cpp's
 * llama-tokenize would: special-token text parsed unless --no-special, BOS per tokenizer.ggml.add_bos_token
 * unless --no-bos. */
#include "tokenizer.h"
#include "tt_opt.h"
#include "tt_model_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_tokenize(FILE *o)
{
    fprintf(o, "usage: tritune tokenize -m FILE.gguf [--ids | --json] [--no-special] [--no-bos] [--file PATH|-] [TEXT]\n"
               "  prints one token a line as ID<TAB>PIECE (the piece's bytes with \\n \\t \\r \\\\ and \\xHH escapes\n"
               "  for control bytes and invalid UTF-8; special tokens show their text)\n"
               "  -m FILE.gguf    model whose tokenizer.ggml.* metadata to use\n"
               "  --ids           only the ids, space-separated on one line\n"
               "  --json          {\"ids\": [...], \"pieces\": [...]} (pieces escaped as above)\n"
               "  --no-special    treat special-token text (<|eot_id|> ...) as plain text\n"
               "  --no-bos        no BOS even if the model's tokenizer.ggml.add_bos_token asks for it\n"
               "  --file PATH|-   read the text from a file or stdin instead of TEXT\n");
}

/* Length of the valid UTF-8 sequence at s (shortest form, no surrogates, <= U+10FFFF), 0 if none. */
static size_t valid_utf8(const unsigned char *s, size_t n)
{
    size_t l = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : s[0] >= 0xE0 && s[0] < 0xF0 ? 3
             : s[0] >= 0xF0 && s[0] < 0xF5 ? 4 : 0;
    if (!l || l > n) return 0;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) || (s[0] == 0xF0 && s[1] < 0x90) ||
        (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return l;
}

/* The visible form of a piece: printable ASCII and valid UTF-8 as is, \n \t \r \\ and \xHH for the rest. */
static void put_visible(FILE *o, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = valid_utf8(s + i, n - i);
        unsigned char c = s[i];
        if (l > 1) {
            fwrite(s + i, 1, l, o);
            i += l;
            continue;
        }
        if (c == '\n') fputs("\\n", o);
        else if (c == '\t') fputs("\\t", o);
        else if (c == '\r') fputs("\\r", o);
        else if (c == '\\') fputs("\\\\", o);
        else if (c >= 0x20 && c < 0x7F) fputc(c, o);
        else fprintf(o, "\\x%02x", c);
        i++;
    }
}

/* The visible form as a JSON string: it is ASCII plus valid UTF-8, so only '"' and '\\' need escaping. */
static void put_visible_json(FILE *o, const unsigned char *s, size_t n)
{
    char *v = NULL;
    size_t vl = 0;
    FILE *m = open_memstream(&v, &vl);
    if (m) {
        put_visible(m, s, n);
        fclose(m);
    }
    putc('"', o);
    for (size_t i = 0; v && i < vl; i++) {
        if (v[i] == '"' || v[i] == '\\') putc('\\', o);
        putc(v[i], o);
    }
    putc('"', o);
    free(v);
}

/* The bytes shown for token id: its decoded bytes for normal tokens, its text for special ones. Returns a
 * pointer to show (*owned: caller frees). */
static const unsigned char *piece_of(const tt_tokenizer *tok, int id, size_t *len, char **owned)
{
    *owned = NULL;
    if (tt_tokenizer_token_type(tok, id) != TT_TOKTYPE_NORMAL)
        return (const unsigned char *)tt_tokenizer_token_text(tok, id, len);
    size_t n = tt_tokenizer_decode(tok, id, NULL, 0);
    if (!(*owned = malloc(n + 1))) {
        *len = 0;
        return (const unsigned char *)"";
    }
    *len = tt_tokenizer_decode(tok, id, *owned, n);
    return (const unsigned char *)*owned;
}

char *tt_cli_read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == cap) {
            char *q = realloc(b, cap *= 2);
            if (!q) free(b);
            b = q;
        }
    }
    if (b && ferror(f)) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = 0;
    *len = n;
    return b;
}

int tt_cmd_tokenize(int argc, char **argv)
{
    const char *path = NULL, *file = NULL, *text = NULL;
    bool ids_only = false, json = false, no_special = false, no_bos = false;
    const tt_opt opts[] = {
        TT_O_STR("--model", "-m", &path),     TT_O_STR("--file", NULL, &file),
        TT_O_FLAG("--ids", NULL, &ids_only),  TT_O_FLAG("--json", NULL, &json),
        TT_O_FLAG("--no-special", NULL, &no_special), TT_O_FLAG("--no-bos", NULL, &no_bos),
    };
    /* TEXT is positional ("-" alone, "-5", or anything after "--" too) */
    int prc = tt_opt_parse(&(tt_cmd){.verb = "tokenize", .usage = usage_tokenize, .opts = opts, .nopts = TT_NOPTS(opts),
                                     .pos = &text, .max_pos = 1},
                           argc, argv);
    if (prc >= 0) return prc;
    int special = !no_special, bos = !no_bos;
    if (!path || (!file) == (!text) || (ids_only && json)) {
        fprintf(stderr, "tritune tokenize: needs -m FILE.gguf and exactly one of TEXT or --file (and not both "
                        "--ids and --json)\n");
        usage_tokenize(stderr);
        return 2;
    }
    char *buf = NULL;
    size_t len = 0;
    if (file) {
        FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
        if (!f) {
            perror(file);
            return 1;
        }
        buf = tt_cli_read_all(f, &len);
        if (f != stdin) fclose(f);
        if (!buf) {
            fprintf(stderr, "tritune tokenize: cannot read %s\n", file);
            return 1;
        }
    }
    tt_gguf *g = NULL;
    tt_tokenizer *tok = NULL;
    int *ids = NULL, n = 0, rc = 1;
    if (tt_gguf_open(path, &g) || tt_tokenizer_open(g, &tok)) {
        fprintf(stderr, "tritune tokenize: %s\n", tt_last_error());
        goto out;
    }
    bool add_bos = true; /* what tritune run does when the file does not say */
    tt_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    unsigned flags = (special ? TT_TOK_PARSE_SPECIAL : 0) | (bos && add_bos ? TT_TOK_ADD_BOS : 0);
    if (tt_tokenizer_encode_ex(tok, file ? buf : text, file ? len : strlen(text), flags, &ids, &n)) {
        fprintf(stderr, "tritune tokenize: %s\n", tt_last_error());
        goto out;
    }
    if (json) fputs("{\"ids\": [", stdout);
    for (int i = 0; i < n; i++) {
        if (ids_only || json) {
            printf(i ? (json ? ", %d" : " %d") : "%d", ids[i]);
            continue;
        }
        size_t pl;
        char *owned;
        const unsigned char *p = piece_of(tok, ids[i], &pl, &owned);
        printf("%d\t", ids[i]);
        put_visible(stdout, p, pl);
        putchar('\n');
        free(owned);
    }
    if (json) {
        fputs("], \"pieces\": [", stdout);
        for (int i = 0; i < n; i++) {
            size_t pl;
            char *owned;
            const unsigned char *p = piece_of(tok, ids[i], &pl, &owned);
            if (i) fputs(", ", stdout);
            put_visible_json(stdout, p, pl);
            free(owned);
        }
        fputs("]}", stdout);
    }
    if (ids_only || json) putchar('\n');
    rc = fflush(stdout) ? 1 : 0;
out:
    free(ids);
    free(buf);
    tt_tokenizer_free(tok);
    tt_gguf_close(g);
    return rc;
}
