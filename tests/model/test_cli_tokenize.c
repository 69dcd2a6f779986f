/* test_cli_tokenize.c — `tritune tokenize` on a tiny synthetic model: the id<TAB>piece lines, --ids, --json,
 * special tokens on/off, BOS from the file and --no-bos, --file, --help (exit 0), usage errors (exit 2). */
#include "tt_model_cli.h"
#include "tt_model_test.h"

#include <fcntl.h>
#include <jansson.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])))

static char out_path[256];

/* Run the command with stdout sent to out_path; returns its exit status, *out the text it printed. */
static int run(int argc, char **argv, char **out)
{
    fflush(stdout);
    int saved = dup(1), fd = open(out_path, O_WRONLY | O_TRUNC);
    if (saved < 0 || fd < 0) return -1;
    dup2(fd, 1);
    close(fd);
    int rc = tt_cmd_tokenize(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    size_t n;
    uint8_t *b = tt_test_read_file(out_path, &n);
    *out = b ? realloc(b, n + 1) : NULL;
    if (*out) (*out)[n] = 0;
    return rc;
}

int main(void)
{
    char model[256], text[256];
    tt_test_tmp(model, sizeof model, "tokcli-model");
    tt_test_tmp(text, sizeof text, "tokcli-text");
    tt_test_tmp(out_path, sizeof out_path, "tokcli-out");
    char *synth[] = {"model", "synth", "--preset", "tiny", "--out", model};
    CHECK(tt_cmd_model(ARGC(synth), synth) == 0);

    /* The tiny model: "<s>" is BOS, "</s>" EOS (control), add_bos_token true. */
    char *out = NULL;
    char *lines[] = {"tokenize", "-m", model, "a\n</s>"};
    CHECK(run(ARGC(lines), lines, &out) == 0);
    CHECKF(out && strstr(out, "\t<s>\n") == out + strcspn(out, "\t") && strstr(out, "\ta\n") && strstr(out, "\t\\n\n") &&
               strstr(out, "\t</s>\n"),
           "output: %s", out ? out : "(none)");
    free(out);

    char *ids[] = {"tokenize", "-m", model, "--ids", "--no-bos", "</s>"};
    CHECK(run(ARGC(ids), ids, &out) == 0);
    int first = -1, count = 0;
    for (char *p = out; p && *p;) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p) break;
        if (!count++) first = (int)v;
        p = e;
    }
    CHECKF(count == 1 && first >= 0, "--ids --no-bos </s>: %s", out ? out : "(none)");
    free(out);
    char *plain[] = {"tokenize", "-m", model, "--ids", "--no-bos", "--no-special", "</s>"};
    CHECK(run(ARGC(plain), plain, &out) == 0);
    CHECKF(out && strchr(out, ' ') && !strstr(out, "\n "), "--no-special </s>: %s", out ? out : "(none)");
    free(out);

    FILE *f = fopen(text, "wb");
    CHECK(f && fwrite("tab\there \"q\" \\ \xff", 1, 16, f) == 16);
    if (f) fclose(f);
    char *js[] = {"tokenize", "-m", model, "--json", "--file", text};
    CHECK(run(ARGC(js), js, &out) == 0);
    json_error_t err;
    json_t *root = out ? json_loads(out, 0, &err) : NULL;
    CHECKF(root != NULL, "JSON: %s in %s", root ? "" : err.text, out ? out : "(none)");
    json_t *ja = json_object_get(root, "ids"), *jp = json_object_get(root, "pieces");
    CHECK(json_is_array(ja) && json_is_array(jp) && json_array_size(ja) == json_array_size(jp) &&
          json_array_size(ja) > 3);
    /* The pieces, joined, are the text's visible form (BOS first; the invalid byte as U+FFFD, whose three bytes
     * are three byte tokens in the tiny vocabulary, each shown as \xHH on its own). */
    char joined[512] = "";
    for (size_t i = 1; i < json_array_size(jp); i++)
        strncat(joined, json_string_value(json_array_get(jp, i)) ? json_string_value(json_array_get(jp, i)) : "?",
                sizeof joined - strlen(joined) - 1);
    CHECKF(!strcmp(json_string_value(json_array_get(jp, 0)), "<s>") &&
               !strcmp(joined, "tab\\there \"q\" \\\\ \\xef\\xbf\\xbd"),
           "joined pieces: %s", joined);
    json_decref(root);
    free(out);

    char *help[] = {"tokenize", "--help"};
    CHECK(run(ARGC(help), help, &out) == 0 && out && strstr(out, "usage: tritune tokenize"));
    free(out);
    char *bad1[] = {"tokenize", "-m", model, "--frobnicate", "x"};
    char *bad2[] = {"tokenize", "x"};
    char *bad3[] = {"tokenize", "-m", model};
    char *bad4[] = {"tokenize", "-m", model, "--file", text, "x"};
    char *bad5[] = {"tokenize", "-m", model, "x", "y"};
    CHECK(tt_cmd_tokenize(ARGC(bad1), bad1) == 2 && tt_cmd_tokenize(ARGC(bad2), bad2) == 2 &&
          tt_cmd_tokenize(ARGC(bad3), bad3) == 2 && tt_cmd_tokenize(ARGC(bad4), bad4) == 2 &&
          tt_cmd_tokenize(ARGC(bad5), bad5) == 2);
    char *missing[] = {"tokenize", "-m", "/nonexistent/model.gguf", "x"};
    CHECK(tt_cmd_tokenize(ARGC(missing), missing) == 1);
    unlink(model);
    unlink(text);
    unlink(out_path);
    return tt_test_end("test_cli_tokenize");
}
