/* cmd_model.c — `tritune model`, `tritune run`, `tritune bench-e2e`. Argument parsing is by hand (no getopt global
 * state, so the commands can be called repeatedly from tests). */
#include "chat.h"
#include "model.h"
#include "parity.h"
#include "tt_opt.h"
#include "tokenizer.h"
#include "tt_baked.h"
#include "tt_energy.h"
#include "tt_membw.h"
#include "tt_model_cli.h"
#include "tt_pool.h"
#include "tt_preset.h"
#include "tt_cli.h"
#include "tt_profile.h"
#include "tt_topo.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t peak_rss_bytes(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? 0 : (size_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

/* Resident set now (/proc/self/statm), 0 if unknown. */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    int ok = f && fscanf(f, "%lu %lu", &size, &resident) == 2;
    if (f) fclose(f);
    long ps = sysconf(_SC_PAGESIZE);
    return ok && ps > 0 ? (size_t)resident * (size_t)ps : 0;
}

static bool parse_lm_head(const char *s, tt_lm_head *h)
{
    if (!strcmp(s, "f16") || !strcmp(s, "file")) *h = TT_LM_HEAD_FILE;
    else if (!strcmp(s, "q8")) *h = TT_LM_HEAD_Q8;
    else return false;
    return true;
}

/* Pool threads pinned one per core through hwloc, as the tuner's are (so decode runs on the topology its kernels
 * were timed on). Binding can be refused (a restricted container): the model then runs unpinned. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bind_cb(void *ctx, int idx) { tt_topo_bind_thread(ctx, idx); }

/* The thread count the baked profile timed fastest over the model's matrices; 1 without a profile. */
static int default_threads(void)
{
    int t = tt_baked_best_threads();
    return t > 0 ? t : 1;
}

static const char *const fuse_names[] = {"auto", "on", "off"}; /* in tt_fuse order (run/bench-e2e/bench-ab --fuse) */

static bool parse_fuse(const char *s, tt_fuse *f)
{
    for (int i = 0; i < (int)(sizeof fuse_names / sizeof *fuse_names); i++)
        if (!strcmp(s, fuse_names[i])) return *f = (tt_fuse)i, true;
    return false;
}

static bool parse_weights(const char *s, tt_weights *w)
{
    static const char *const names[] = {"auto", "i2s", "tl1", "tl2", "b3"}; /* in tt_weights order */
    for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
        if (!strcmp(s, names[i])) return *w = (tt_weights)i, true;
    return false;
}

/* "I2_S", or the formats the model's matrices are held in, e.g. "I2_S+TL2" */
static const char *weights_label(const tt_model *m, char *buf, size_t n)
{
    static const char *const up[TT_FMT_COUNT] = {"I2_S", "TL1", "TL2", "B3"};
    buf[0] = 0;
    for (int f = 0; f < TT_FMT_COUNT; f++)
        if (m->n_fmt[f]) snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? "+" : "", up[f]);
    return buf;
}

static bool parse_backend(const char *s, const tt_plan_backend **be)
{
    if (!strcmp(s, "registry")) *be = &tt_plan_backend_registry;
    else if (!strcmp(s, "oracle")) *be = &tt_plan_backend_oracle;
    else return false;
    return true;
}


/* --lm-head q8 is lossy: say so, and what it costs against the file's own head on fixed positions
 * (tt_model_head_error). Writes over the KV cache from position 0: call it before the run's own tokens. True when
 * e was measured. */
static bool report_head_error(tt_model *m, const char *verb, tt_head_error *e)
{
    if (m->lm_head != TT_LM_HEAD_Q8) return false;
    if (tt_model_head_error(m, TT_HEAD_CHECK_POSITIONS, e)) {
        fprintf(stderr, "tritune %s: cannot compare the q8 head with the file's: %s\n", verb, tt_last_error());
        return false;
    }
    fprintf(stderr,
            "tritune %s: LM head q8 is LOSSY (requantized from the file's %s head): over %d fixed positions, top-1 agrees "
            "at %d/%d, mean |logit error| %.4f, max %.4f (file-head logits: std %.3f)\n",
            verb, e->file_head, e->positions, e->top1_agree, e->positions, e->mean_abs, e->max_abs, e->logit_std);
    return true;
}

static json_t *head_error_json(const tt_head_error *e)
{
    return json_pack("{s:s,s:i,s:i,s:f,s:f,s:f}", "file_head", e->file_head, "positions", e->positions, "top1_agree",
                     e->top1_agree, "mean_abs", e->mean_abs, "max_abs", e->max_abs, "logit_std", e->logit_std);
}

/* The context a run needs, and room for the q8 head's check positions when it runs (bounded by the model's). */
static int ctx_with_head_check(int n_ctx, tt_lm_head head, int seq_len)
{
    if (head != TT_LM_HEAD_Q8 || n_ctx >= TT_HEAD_CHECK_POSITIONS) return n_ctx;
    return TT_HEAD_CHECK_POSITIONS < seq_len ? TT_HEAD_CHECK_POSITIONS : seq_len;
}

static const char *lm_head_label(const tt_model *m)
{
    if (m->lm_head == TT_LM_HEAD_Q8) return "q8 (int8 rows + f32 row scale, requantized at load)";
    switch (m->w.token_embd->type) {
    case TT_GGML_F16: return "f16 (file)";
    case TT_GGML_Q8_0: return "q8_0 (file)";
    case TT_GGML_Q6_K: return "q6_K (file)";
    case TT_GGML_Q4_0: return "q4_0 (file)";
    default: return "f32 (file)";
    }
}

/* ---- tritune model ---- */
static void usage_model(FILE *f)
{
    char names[128];
    fprintf(f, "usage: tritune model synth --preset %s --out FILE.gguf [--seed N] [--lm-head f16|q8_0|q6_K|q4_0]\n"
               "                          [--arch bitnet|bitnet-b1.58] [--layers N] [--ternary i2_s|tq1_0|tq2_0] [--f16-scales]\n"
               "       tritune model info FILE.gguf\n"
               "synth writes a synthetic BitNet b1.58 model with the preset's architecture and seeded random\n"
               "ternary weights, in the GGUF dialect bitnet.cpp loads (I2_S weights, f16 tied embedding / LM head).\n"
               "--arch sets general.architecture (default bitnet-b1.58: relu^2 FFN; bitnet: SiLU FFN, the only one\n"
               "bitnet.cpp's public fork and mainline llama.cpp load); --layers N (1..1024) overrides the block count;\n"
               "--ternary writes the ternary weights as I2_S (default) or mainline llama.cpp's TQ1_0 / TQ2_0 (the\n"
               "tensor's scale as every block's f16 d; row lengths must be multiples of 256, so not 3b). The same seed\n"
               "gives the same trits whatever --ternary says; TQ rounds each scale to f16, and --f16-scales makes an\n"
               "I2_S file do the same, so that it loads to a model bit-identical to the TQ file's.\n"
               "Presets (kernels/tt_preset.c; `tritune tune --model` races the same shapes), dim/FFN/layers:\n",
            tt_preset_names(names, sizeof names, "|", false));
    for (int i = 0; i < tt_preset_count(); i++) {
        const tt_preset *p = tt_preset_at(i);
        fprintf(f, "  %-6s %d/%d/%d, %d heads of %d (%d KV), vocab %d, context %d%s\n", p->name, p->dim, p->ffn,
                p->layers, p->heads, p->head_dim, p->kv_heads, p->vocab, p->ctx,
                p->tune ? "" : "; for the tests, not tuned");
        if (p->note) fprintf(f, "         %s\n", p->note);
    }
    fprintf(f, "info prints the config, metadata and tensors of a GGUF file after validating it.\n");
}

static int model_info(const char *path)
{
    tt_gguf *g;
    if (tt_gguf_open(path, &g)) {
        fprintf(stderr, "tritune model info: %s\n", tt_last_error());
        return 1;
    }
    printf("%s: GGUF v%u, %llu KVs, %llu tensors, alignment %u, data at %zu, %zu bytes\n", path, g->version,
           (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors, g->alignment, g->data_start, g->size);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const tt_gguf_kv *kv = &g->kv[i];
        printf("  %-48.*s %s", (int)(kv->key_len > 200 ? 200 : kv->key_len), kv->key, tt_gguf_vtype_name(kv->type));
        if (kv->type == TT_GGUF_STRING) {
            size_t n;
            const char *s = tt_gguf_kv_str(kv, &n);
            printf(" \"%.*s\"", (int)(n > 80 ? 80 : n), s);
        } else if (kv->type == TT_GGUF_ARRAY) {
            printf("[%s] x %llu", tt_gguf_vtype_name(kv->arr_type), (unsigned long long)kv->arr_n);
        } else if (kv->type == TT_GGUF_F32 || kv->type == TT_GGUF_F64) {
            printf(" %g", tt_gguf_kv_float(kv));
        } else {
            printf(" %lld", (long long)tt_gguf_kv_int(kv));
        }
        putchar('\n');
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const tt_gguf_tensor *t = &g->tensors[i];
        printf("  %-32s %-5s [", t->name, tt_ggml_type_name(t->type));
        for (int d = 0; d < t->n_dims; d++) printf("%s%llu", d ? ", " : "", (unsigned long long)t->ne[d]);
        printf("] %zu bytes at +%llu\n", t->nbytes, (unsigned long long)t->offset);
    }
    tt_model_config c;
    if (tt_model_config_read(g, &c)) printf("not a runnable BitNet model: %s\n", tt_last_error());
    else
        printf("config: %s dim %d ffn %d layers %d heads %d kv_heads %d head_dim %d vocab %d ctx %d theta %g eps %g\n",
               c.arch, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size, c.seq_len,
               c.rope_theta, c.norm_eps);
    tt_gguf_close(g);
    return 0;
}

int tt_cmd_model(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        usage_model(sub ? stdout : stderr);
        return sub ? 0 : 2;
    }
    if (!strcmp(sub, "info")) {
        const char *file = NULL;
        int rc = tt_opt_parse(&(tt_cmd){.verb = "model info", .usage = usage_model, .pos = &file, .min_pos = 1,
                                        .max_pos = 1},
                              argc - 1, argv + 1);
        return rc >= 0 ? rc : model_info(file);
    }
    if (strcmp(sub, "synth")) {
        fprintf(stderr, "tritune model: unknown subcommand \"%s\"\n\n", sub);
        usage_model(stderr);
        return 2;
    }
    const char *preset = NULL, *out = NULL, *head = "f16", *arch = NULL, *tern = "i2_s", *seed_s = "1";
    unsigned long long seed = 1;
    long layers = 0;
    bool f16_scales = false;
    const tt_opt opts[] = {
        TT_O_STR("--preset", NULL, &preset),
        TT_O_STR("--out", "-o", &out),
        TT_O_STR("--seed", NULL, &seed_s),
        TT_O_CHOICE("--lm-head", NULL, &head, "f16|q8_0|q6_K|q4_0"),
        TT_O_CHOICE("--arch", NULL, &arch, "bitnet|bitnet-b1.58"),
        TT_O_INT("--layers", NULL, &layers, 1, 1024),
        TT_O_CHOICE("--ternary", NULL, &tern, "i2_s|tq1_0|tq2_0"),
        TT_O_FLAG("--f16-scales", NULL, &f16_scales),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "model synth", .usage = usage_model, .opts = opts, .nopts = TT_NOPTS(opts)},
                           argc - 1, argv + 1);
    if (prc >= 0) return prc;
    {
        char *end;
        errno = 0;
        seed = strtoull(seed_s, &end, 0);
        if (errno || *end || !*seed_s) {
            fprintf(stderr, "tritune model synth: --seed \"%s\" is not a number\n", seed_s);
            return 2;
        }
    }
    if (out && (prc = tt_opt_check_writable("model synth", out)) >= 0) return prc;
    if (!preset || !out) {
        fprintf(stderr, "tritune model synth: --preset and --out are required\n");
        return 2;
    }
    tt_synth_opts o;
    if (tt_synth_preset(preset, &o)) {
        fprintf(stderr, "tritune model synth: %s\n", tt_last_error());
        return 2;
    }
    o.head_type = !strcmp(head, "q8_0")   ? TT_GGML_Q8_0
                  : !strcmp(head, "q6_K") ? TT_GGML_Q6_K
                  : !strcmp(head, "q4_0") ? TT_GGML_Q4_0
                                          : TT_GGML_F16;
    if (arch) { /* what the architecture computes comes from its row of the architecture table */
        const tt_model_arch *ar = tt_model_arch_find(arch, strlen(arch));
        snprintf(o.c.arch, sizeof o.c.arch, "%s", arch);
        o.c.act = ar->act;
        o.c.rope = ar->rope;
    }
    if (layers) o.c.n_layers = (int)layers;
    o.f16_scales = f16_scales;
    o.ternary_type = !strcmp(tern, "tq1_0") ? TT_GGML_TQ1_0 : !strcmp(tern, "tq2_0") ? TT_GGML_TQ2_0 : TT_GGML_I2_S;
    const tt_preset *pr = tt_preset_find(preset);
    if (pr && pr->note) fprintf(stderr, "tritune model synth: note: %s\n", pr->note);
    o.seed = seed;
    o.progress = true;
    if (tt_synth_write(&o, out)) {
        fprintf(stderr, "tritune model synth: %s\n", tt_last_error());
        return 1;
    }
    return 0;
}

#define WEIGHTS_HELP                                                                                              \
    "  --weights       the format the ternary matrices are repacked into at load, all exact (same logits bit for\n" \
    "                  bit): auto (per matrix shape, the format of the profile's winner for it: the tuner races\n"  \
    "                  I2_S, TL1, TL2 and B3 kernels; I2_S without one), or i2s, tl1, tl2, b3 for every matrix.\n"  \
    "                  TL2 holds 1.67 bits per weight, B3 1.6 (five trits per byte), I2_S 2; a TL1/TL2/B3 matrix\n"  \
    "                  keeps an I2_S copy for prefill\n"
#define PLACE_HELP                                                                                                \
    "  --place on|off  (run, bench-e2e; default on) after loading, read every 2 MiB page of the weights and of as\n" \
    "                  many fresh pages, and move the weights onto the fastest ones (contents unchanged; 0.5-1 s\n"\
    "                  and twice the weights' memory for that moment; skipped with a note when that much memory is\n" \
    "                  not available). On a VM the host's memory behind the pages does not stream alike. Also\n"   \
    "                  TRITUNE_PLACE=0 (off) or =<rounds> (1..16, default 8)\n"
#define CALIB_HELP                                                                                                \
    "  --calibrate on|off  (run, bench-e2e; default on) where no tuned winner applies (no profile for this CPU),\n" \
    "                  time the untuned GEMV kernel's prefetch distances and the LM head's members on the model's\n" \
    "                  own weights at load (two passes, ~0.1-0.3 s) and keep the fastest when it beats the static\n" \
    "                  default by 3 %%; the same bytes are read whatever is picked, so the output is unchanged. Also\n" \
    "                  TRITUNE_CALIBRATE=0 (off) or =<passes> (1..16, default 2)\n"

/* ---- tritune run ---- */
static void usage_run(FILE *f)
{
    fprintf(f, "usage: tritune run -m FILE.gguf [-p \"text\"] [-n 64] [-t threads] [--lm-head f16|q8] [--kernel registry|oracle]\n"
               "                  [--batch N] [--fuse auto|on|off] [--weights auto|i2s|tl1|tl2|b3] [--place on|off]\n"
               "                  [--calibrate on|off]\n"
               "Greedy decoding: encodes the prompt (BOS first), runs it through the model (batched prefill: one GEMM\n"
               "per linear layer per chunk of --batch tokens, default 64; 1 = token by token through the GEMV path),\n"
               "then generates -n tokens (stopping at EOS), printing the text as it goes, then prompt and generation\n"
               "speed in tokens/s.\n"
               "  --lm-head f16   the tied embedding as stored in the file (f16, q8_0, q6_K or q4_0, as stored)\n"
               "  --lm-head q8    requantize it at load to int8 rows with one f32 scale per row (half the traffic of an\n"
               "                  f16 head; LOSSY: prints its top-1 agreement and mean |logit error| against the\n"
               "                  file's head over 16 fixed positions, decoded before the prompt)\n"
               "  --kernel        GEMV backend: registry (default dispatch, TRITUNE_KERNEL honoured) or oracle\n"
               "  -t              threads (default: the count the baked profile timed fastest; 1 without one)\n"
               "  --fuse          q/k/v and gate/up as one GEMV each: auto (when the baked profile timed the fused\n"
               "                  shape faster than its parts), on, off\n"
               WEIGHTS_HELP PLACE_HELP CALIB_HELP
               "  --no-special    encode special-token text in the prompt (<|eot_id|>, ...) as plain text\n"
               "  --chat          chat with an instruct model: the prompt (-p) or each line read from standard input is\n"
               "                  a user turn, rendered in the file's chat format (tokenizer.chat_template: Llama 3, or\n"
               "                  BitNet 2B4T's \"User: ... Assistant:\"; Llama 3 when the file has none); generation\n"
               "                  stops at end of turn (eos/eot ids) or after -n tokens; the KV cache is kept across\n"
               "                  turns. --system TEXT adds a system turn; -c N sets the context (default: the\n"
               "                  model's context length, at most 4096)\n");
}

/* ---- chat: turns rendered in the model's chat format (chat.h), one KV cache for the whole session ---- */
typedef struct chat_session {
    tt_model *m;
    tt_tokenizer *tok;
    tt_chat_format fmt;
    int pos;            /* tokens in the cache */
    int pending;        /* a generated token not yet in the cache (-1: none) */
    bool add_bos;       /* the file's add_bos_token: BOS before the first turn */
    long n_gen;
} chat_session;

/* Feed text (special tokens parsed) after what the cache holds, then generate the reply until end of turn. */
static int chat_turn(chat_session *c, const char *text, bool first)
{
    int *ids = NULL, n = 0;
    unsigned flags = TT_TOK_PARSE_SPECIAL | (first && c->add_bos ? TT_TOK_ADD_BOS : 0);
    if (tt_tokenizer_encode_ex(c->tok, text, strlen(text), flags, &ids, &n)) return -1;
    int total = n + (c->pending >= 0);
    if (c->pos + total + 1 > c->m->n_ctx) {
        fprintf(stderr, "tritune run: the context (%d tokens) is full; start a new session or raise -c\n", c->m->n_ctx);
        free(ids);
        return 1;
    }
    int *feed = malloc((size_t)(total ? total : 1) * sizeof(int));
    if (!feed) {
        free(ids);
        return -1;
    }
    int k = 0;
    if (c->pending >= 0) feed[k++] = c->pending;
    memcpy(feed + k, ids, (size_t)n * sizeof(int));
    free(ids);
    tt_status st = tt_model_prefill(c->m, feed, total, c->pos, true);
    free(feed);
    if (st) return -1;
    c->pos += total;
    c->pending = -1;
    char buf[256];
    for (long g = 0; g < c->n_gen; g++) {
        int next = tt_argmax(c->m->s.logits, c->m->config.vocab_size);
        if (tt_tokenizer_is_eog(c->tok, next)) {
            c->pending = next; /* the end of turn goes into the cache with the next turn */
            break;
        }
        size_t nb = tt_tokenizer_decode(c->tok, next, buf, sizeof buf);
        fwrite(buf, 1, nb < sizeof buf ? nb : sizeof buf, stdout);
        fflush(stdout);
        if (c->pos + 1 >= c->m->n_ctx) {
            fprintf(stderr, "\ntritune run: the context (%d tokens) is full\n", c->m->n_ctx);
            return 1;
        }
        if (tt_model_forward(c->m, next, c->pos++, true)) return -1;
    }
    if (c->pending < 0) { /* stopped by -n: close the assistant's message as the template would */
        int eot = tt_tokenizer_eot(c->tok);
        c->pending = eot >= 0 ? eot : c->m->config.eos;
    }
    putchar('\n');
    fflush(stdout);
    return 0;
}

static int run_chat(tt_model *m, tt_tokenizer *tok, tt_chat_format fmt, bool add_bos, const char *system,
                    const char *prompt, long n_gen)
{
    chat_session c = {.m = m, .tok = tok, .fmt = fmt, .pending = -1, .add_bos = add_bos, .n_gen = n_gen};
    char *sys = system ? tt_chat_render(fmt, "system", system, false) : NULL;
    if (system && !sys) return 1;
    bool interactive = !prompt || !*prompt, tty = isatty(0);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (bool first = true;; first = false) {
        const char *user = prompt;
        if (interactive) {
            if (tty) fprintf(stderr, "> ");
            ssize_t r = getline(&line, &cap, stdin);
            if (r < 0) break;
            user = line;
        }
        char *turn = tt_chat_render(fmt, "user", user, true);
        size_t need = (sys && first ? strlen(sys) : 0) + (turn ? strlen(turn) : 0) + 1;
        char *text = turn ? malloc(need) : NULL;
        if (text) snprintf(text, need, "%s%s", sys && first ? sys : "", turn);
        free(turn);
        int st = text ? chat_turn(&c, text, first) : -1;
        free(text);
        if (st) {
            if (st < 0) fprintf(stderr, "tritune run: %s\n", tt_last_error());
            rc = 1;
            break;
        }
        if (!interactive) break;
    }
    free(line);
    free(sys);
    return rc;
}

int tt_cmd_run(int argc, char **argv)
{
    const char *path = NULL, *prompt = "", *system = NULL, *head_s = "f16", *kernel_s = "registry", *fuse_s = "auto";
    const char *weights_s = "auto", *place_s = "on", *calib_s = "on";
    long n_gen = 64, threads = 0, batch = 0, n_ctx = 0; /* threads 0: the tuned count; n_ctx 0: the model's, <= 4096 */
    bool chat = false, no_special = false, over = false;
    tt_model_opts o = {.threads = 1};
    tt_topo topo;
    bool have_topo = false;
    const tt_opt opts[] = {
        TT_O_STR("--model", "-m", &path),
        TT_O_STR("--prompt", "-p", &prompt),
        TT_O_STR("--system", NULL, &system),
        TT_O_INT("--ctx-size", "-c", &n_ctx, 16, 1 << 20),
        TT_O_INT("--n-predict", "-n", &n_gen, 0, 1 << 20),
        TT_O_INT("--threads", "-t", &threads, 1, 4096),
        TT_O_CHOICE("--lm-head", NULL, &head_s, "f16|file|q8"),
        TT_O_CHOICE("--kernel", NULL, &kernel_s, "registry|oracle"),
        TT_O_INT("--batch", NULL, &batch, 1, TT_MODEL_BATCH_MAX),
        TT_O_CHOICE("--fuse", NULL, &fuse_s, "auto|on|off"),
        TT_O_CHOICE("--weights", NULL, &weights_s, "auto|i2s|tl1|tl2|b3"),
        TT_O_CHOICE("--place", NULL, &place_s, "on|off"),
        TT_O_CHOICE("--calibrate", NULL, &calib_s, "on|off"),
        TT_O_FLAG("--chat", NULL, &chat),
        TT_O_FLAG("--no-special", NULL, &no_special),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "run", .usage = usage_run, .opts = opts, .nopts = TT_NOPTS(opts)}, argc,
                           argv);
    if (prc >= 0) return prc;
    bool special = !no_special;
    parse_lm_head(head_s, &o.lm_head);
    parse_backend(kernel_s, &o.backend);
    parse_fuse(fuse_s, &o.fuse);
    parse_weights(weights_s, &o.weights);
    if (!strcmp(place_s, "off")) o.place = -1;
    if (!strcmp(calib_s, "off")) o.calibrate = -1;
    int th = (int)threads;
    if (th && (prc = tt_opt_check_threads("run", &th, 1, over)) >= 0) return prc;
    if (!path) {
        fprintf(stderr, "tritune run: -m FILE.gguf is required\n");
        return 2;
    }
    if (system && !chat) {
        fprintf(stderr, "tritune run: --system needs --chat\n");
        return 2;
    }
    /* Size the KV cache for this run only: the prompt's token count is bounded by its bytes + BOS. */
    tt_gguf *g;
    tt_tokenizer *tok = NULL;
    int *ids = NULL, n_ids = 0, rc = 1;
    tt_model *m = NULL;
    if (tt_gguf_open(path, &g) || tt_tokenizer_open(g, &tok)) {
        fprintf(stderr, "tritune run: %s\n", tt_last_error());
        tt_gguf_close(g);
        return 1;
    }
    bool add_bos = true;
    tt_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    tt_model_config cfg;
    int seq_len = tt_model_config_read(g, &cfg) ? INT_MAX : cfg.seq_len; /* a bad config: tt_model_open says why */
    const char *fmt_why = NULL;
    tt_chat_format fmt = tt_chat_format_of(g, &fmt_why);
    tt_gguf_close(g);
    if (!chat) {
        unsigned flags = (add_bos ? TT_TOK_ADD_BOS : 0) | (special ? TT_TOK_PARSE_SPECIAL : 0);
        if (tt_tokenizer_encode_ex(tok, prompt, strlen(prompt), flags, &ids, &n_ids)) goto fail;
        if (n_ids == 0) {
            fprintf(stderr, "tritune run: empty prompt and no BOS token: nothing to condition on\n");
            goto out;
        }
    }
    o.threads = threads ? (int)threads : default_threads();
    o.n_ctx = chat ? (int)n_ctx : n_ids + (int)n_gen;
    if (o.n_ctx) o.n_ctx = ctx_with_head_check(o.n_ctx, o.lm_head, seq_len);
    o.batch = (int)batch;
    /* the pool's workers bind themselves when they start, which may be after tt_model_open returns: the topology
     * lives until the model is closed */
    have_topo = tt_topo_load(&topo) == TT_OK;
    if (have_topo) o.bind = bind_cb, o.bind_ctx = &topo;
    if (tt_model_open(path, &o, &m)) goto fail;
    fprintf(stderr, "tritune run: %s, %d layers, kernel %s, prefill %s (batch %d), LM head %s, %d threads; %s\n",
            m->config.arch, m->config.n_layers, m->kernel_name, m->batch > 1 ? m->gemm_kernel_name : "token by token",
            m->batch, lm_head_label(m), m->threads, m->fuse_note);
    fprintf(stderr, "tritune run: LM head kernel %s; the head reads %.1f MB per token of %.1f MB in all\n", m->head_note,
            m->bytes_head / 1e6, (m->bytes_ternary + m->bytes_head + m->bytes_other) / 1e6);
    fprintf(stderr, "tritune run: ternary weights %.1f MB per token: %s\n", m->bytes_ternary / 1e6, m->fmt_note);
    if (m->place_note[0]) fprintf(stderr, "tritune run: placement: %s\n", m->place_note);
    if (m->pages_note[0]) fprintf(stderr, "tritune run: huge pages: %s\n", m->pages_note);
    if (m->calib_note[0]) fprintf(stderr, "tritune run: calibration: %s\n", m->calib_note);
    tt_head_error herr;
    report_head_error(m, "run", &herr);
    if (chat) {
        fprintf(stderr, "tritune run: chat format: %s; context %d tokens\n", fmt_why, m->n_ctx);
        rc = run_chat(m, tok, fmt, add_bos, system, prompt, n_gen);
        goto out;
    }
    double t0 = now_s();
    if (tt_model_prefill(m, ids, n_ids, 0, true)) goto fail;
    double t1 = now_s();
    int pos = n_ids, generated = 0, next = tt_argmax(m->s.logits, m->config.vocab_size);
    char buf[256];
    fwrite(prompt, 1, strlen(prompt), stdout);
    while (generated < n_gen && !tt_tokenizer_is_eog(tok, next)) {
        size_t n = tt_tokenizer_decode(tok, next, buf, sizeof buf);
        fwrite(buf, 1, n < sizeof buf ? n : sizeof buf, stdout);
        fflush(stdout);
        if (++generated == n_gen) break;
        if (tt_model_forward(m, next, pos++, true)) goto fail;
        next = tt_argmax(m->s.logits, m->config.vocab_size);
    }
    double t2 = now_s();
    printf("\n");
    fprintf(stderr, "tritune run: prompt %d tokens in %.3f s (%.2f t/s); generated %d tokens in %.3f s (%.2f t/s)\n",
            n_ids, t1 - t0, n_ids / (t1 - t0), generated, t2 - t1, generated > 1 ? (generated - 1) / (t2 - t1) : 0.0);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "tritune run: %s\n", tt_last_error());
out:
    free(ids);
    tt_tokenizer_free(tok);
    tt_model_close(m);
    if (have_topo) tt_topo_free(&topo);
    return rc;
}

/* ---- tritune eval ---- */
static void usage_eval(FILE *f)
{
    fprintf(f, "usage: tritune eval -m FILE.gguf (--ids 1,2,3 | --ids-file F | -p TEXT) [--top 5] [--logits OUT.f32]\n"
               "                   [--greedy N] [--ref REF.f32 [--check]] [--json] [-t threads] [--batch N]\n"
               "                   [--lm-head f16|q8] [--kernel registry|oracle] [--weights auto|i2s|tl1|tl2|b3]\n"
               "Runs the given token ids through the model in one pass from position 0 (as llama.cpp's llama_decode of\n"
               "one batch) and prints the top logits of the LAST position: the numbers any implementation can be\n"
               "compared with on the same file.\n"
               "  --ids / --ids-file  token ids, comma or whitespace separated (no BOS is added)\n"
               "  -p TEXT             tokenize TEXT instead (BOS as the file says)\n"
               "  --logits F          write the last position's logits to F: n_vocab little-endian float32\n"
               "  --greedy N          then generate N ids greedily, one token at a time, and print them\n"
               "  --ref F             compare with another implementation's logits (n_vocab float32): Pearson, max\n"
               "                      |diff| against the reference's range, the top-5 of each; --check exits 1 unless\n"
               "                      Pearson >= %.4f, max |diff| <= %.0f %% of the range and the same top-5 up\n"
               "                      to near ties (reference logits within 0.1 may trade places)\n"
               "  --json              the result as one JSON object on stdout\n"
               WEIGHTS_HELP,
            TT_PARITY_MIN_PEARSON, 100.0 * TT_PARITY_MAX_DIFF_OF_RANGE);
}

/* Ids from "1,2,3" or a file's text: integers separated by commas and/or whitespace. */
static bool parse_ids(const char *s, int vocab_max, int **ids, int *n)
{
    int cap = 16, k = 0;
    int *v = malloc((size_t)cap * sizeof(int));
    if (!v) return false;
    for (const char *p = s; *p;) {
        if (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > vocab_max || (*end && !strchr(", \t\r\n", *end))) {
            fprintf(stderr, "tritune eval: bad token id at \"%.20s\"\n", p);
            free(v);
            return false;
        }
        if (k == cap) {
            int *nv = realloc(v, (size_t)(cap *= 2) * sizeof(int));
            if (!nv) {
                free(v);
                return false;
            }
            v = nv;
        }
        v[k++] = (int)x;
        p = end;
    }
    *ids = v, *n = k;
    return true;
}

static bool read_f32_file(const char *path, int n, float *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tritune eval: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    size_t got = fread(out, sizeof(float), (size_t)n, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != (size_t)n || extra != EOF) {
        fprintf(stderr, "tritune eval: %s holds %s float32 values, the model's vocabulary has %d\n", path,
                got != (size_t)n ? "fewer" : "more", n);
        return false;
    }
    return true;
}

int tt_cmd_eval(int argc, char **argv)
{
    const char *path = NULL, *ids_arg = NULL, *ids_file = NULL, *text = NULL, *logits_out = NULL, *ref_path = NULL;
    const char *head_s = "f16", *kernel_s = "registry", *weights_s = "auto";
    long top = 5, greedy = 0, threads = 1, batch = 0;
    bool json = false, check = false, over = false;
    tt_model_opts o = {.threads = 1};
    const tt_opt opts[] = {
        TT_O_STR("--model", "-m", &path),
        TT_O_STR("--ids", NULL, &ids_arg),
        TT_O_STR("--ids-file", NULL, &ids_file),
        TT_O_STR("--prompt", "-p", &text),
        TT_O_STR("--logits", NULL, &logits_out),
        TT_O_STR("--ref", NULL, &ref_path),
        TT_O_INT("--top", NULL, &top, 1, TT_PARITY_TOP_MAX),
        TT_O_INT("--greedy", NULL, &greedy, 0, 1 << 16),
        TT_O_INT("--threads", "-t", &threads, 1, 4096),
        TT_O_INT("--batch", NULL, &batch, 1, TT_MODEL_BATCH_MAX),
        TT_O_CHOICE("--lm-head", NULL, &head_s, "f16|file|q8"),
        TT_O_CHOICE("--kernel", NULL, &kernel_s, "registry|oracle"),
        TT_O_CHOICE("--weights", NULL, &weights_s, "auto|i2s|tl1|tl2|b3"),
        TT_O_FLAG("--json", NULL, &json),
        TT_O_FLAG("--check", NULL, &check),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "eval", .usage = usage_eval, .opts = opts, .nopts = TT_NOPTS(opts)},
                           argc, argv);
    if (prc >= 0) return prc;
    parse_lm_head(head_s, &o.lm_head);
    parse_backend(kernel_s, &o.backend);
    parse_weights(weights_s, &o.weights);
    int th = (int)threads;
    if ((prc = tt_opt_check_threads("eval", &th, 1, over)) >= 0 ||
        (logits_out && (prc = tt_opt_check_writable("eval", logits_out)) >= 0))
        return prc;
    if (!path || (!ids_arg + !ids_file + !text) != 2) {
        fprintf(stderr, "tritune eval: -m FILE.gguf and exactly one of --ids, --ids-file, -p are required\n");
        usage_eval(stderr);
        return 2;
    }
    if (check && !ref_path) {
        fprintf(stderr, "tritune eval: --check needs --ref\n");
        return 2;
    }
    int rc = 1, *ids = NULL, n_ids = 0, vocab;
    tt_gguf *g = NULL;
    tt_tokenizer *tok = NULL;
    tt_model *m = NULL;
    float *ref = NULL, *margin = NULL;
    int *gen = NULL;
    tt_model_config c;
    if (tt_gguf_open(path, &g) || tt_model_config_read(g, &c)) goto fail;
    vocab = c.vocab_size;
    if (tt_tokenizer_open(g, &tok)) tok = NULL; /* pieces are printed only when the file has a tokenizer */
    if (text) {
        if (!tok) goto fail;
        bool add_bos = true;
        tt_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
        if (tt_tokenizer_encode(tok, text, strlen(text), add_bos, &ids, &n_ids)) goto fail;
    } else {
        FILE *f = ids_file ? fopen(ids_file, "rb") : NULL;
        size_t blen;
        char *buf = f ? tt_cli_read_all(f, &blen) : NULL;
        if (f) fclose(f);
        if (ids_file && !buf) {
            fprintf(stderr, "tritune eval: cannot read %s: %s\n", ids_file, strerror(errno));
            goto out;
        }
        bool ok = parse_ids(ids_file ? buf : ids_arg, vocab - 1, &ids, &n_ids);
        free(buf);
        if (!ok) goto out;
    }
    tt_gguf_close(g);
    g = NULL;
    if (n_ids < 1) {
        fprintf(stderr, "tritune eval: no token ids to evaluate\n");
        goto out;
    }
    if (n_ids + greedy > c.seq_len) {
        fprintf(stderr, "tritune eval: %d ids + %ld generated exceed the model's context of %d\n", n_ids, greedy,
                c.seq_len);
        goto out;
    }
    if (ref_path && (!(ref = malloc((size_t)vocab * sizeof(float))) || !read_f32_file(ref_path, vocab, ref))) goto out;
    o.threads = (int)threads;
    o.n_ctx = ctx_with_head_check(n_ids + (int)greedy, o.lm_head, c.seq_len);
    o.batch = (int)batch;
    tt_head_error herr;
    bool have_herr = false;
    if (tt_model_open(path, &o, &m)) goto fail;
    have_herr = report_head_error(m, "eval", &herr);
    if (tt_model_prefill(m, ids, n_ids, 0, true)) goto fail;
    if (logits_out) {
        FILE *f = fopen(logits_out, "wb");
        bool ok = f && fwrite(m->s.logits, sizeof(float), (size_t)vocab, f) == (size_t)vocab;
        if (f && fclose(f)) ok = false;
        if (!ok) {
            fprintf(stderr, "tritune eval: cannot write %s: %s\n", logits_out, strerror(errno));
            goto out;
        }
    }
    int topi[TT_PARITY_TOP_MAX];
    tt_topk(m->s.logits, vocab, (int)top, topi);
    int ntop = top < vocab ? (int)top : vocab;
    tt_logit_cmp cmp;
    if (ref) tt_logits_compare(ref, m->s.logits, vocab, (int)top, &cmp);
    float last[TT_PARITY_TOP_MAX]; /* the prompt's top logits, before greedy decoding overwrites them */
    for (int i = 0; i < ntop; i++) last[i] = m->s.logits[topi[i]];
    /* greedy ids and each step's top-1 margin (a near tie, under ~0.1, can go either way between implementations
     * that differ in rounding) */
    if (greedy && (!(gen = malloc((size_t)greedy * sizeof(int))) || !(margin = malloc((size_t)greedy * sizeof(float)))))
        goto fail;
    for (int i = 0; i < greedy; i++) {
        if (i && tt_model_forward(m, gen[i - 1], n_ids + i - 1, true)) goto fail;
        int t2[2];
        tt_topk(m->s.logits, vocab, 2, t2);
        gen[i] = t2[0];
        margin[i] = vocab > 1 ? m->s.logits[t2[0]] - m->s.logits[t2[1]] : INFINITY;
    }
    char piece[64];
    if (json) {
        json_t *r = json_object(), *ta = json_array(), *ia = json_array();
        for (int i = 0; i < n_ids; i++) json_array_append_new(ia, json_integer(ids[i]));
        for (int i = 0; i < ntop; i++) {
            json_t *e = json_pack("{s:i,s:f}", "id", topi[i], "logit", (double)last[i]);
            if (tok) {
                size_t n = tt_tokenizer_decode(tok, topi[i], piece, sizeof piece);
                json_object_set_new(e, "piece", json_stringn(piece, n < sizeof piece ? n : sizeof piece));
            }
            json_array_append_new(ta, e);
        }
        json_object_set_new(r, "model", json_string(path));
        json_object_set_new(r, "arch", json_string(m->config.arch));
        json_object_set_new(r, "n_vocab", json_integer(vocab));
        json_object_set_new(r, "ids", ia);
        json_object_set_new(r, "top", ta);
        if (have_herr) json_object_set_new(r, "lm_head_error", head_error_json(&herr));
        if (greedy) {
            json_t *ga = json_array(), *ma = json_array();
            for (int i = 0; i < greedy; i++) {
                json_array_append_new(ga, json_integer(gen[i]));
                json_array_append_new(ma, json_real(margin[i]));
            }
            json_object_set_new(r, "greedy", ga);
            json_object_set_new(r, "greedy_margin", ma);
        }
        if (ref) {
            json_t *ra = json_array();
            for (int i = 0; i < cmp.top; i++) json_array_append_new(ra, json_integer(cmp.top_ref[i]));
            json_object_set_new(r, "ref", json_pack("{s:s,s:f,s:f,s:f,s:f,s:o,s:b,s:b}", "file", ref_path, "pearson",
                                                    isnan(cmp.pearson) ? -2.0 : cmp.pearson, "max_abs_diff",
                                                    cmp.max_abs_diff, "ref_range", cmp.ref_range, "ref_margin",
                                                    cmp.ref_margin, "ref_top", ra, "top_same", cmp.top_same, "agree",
                                                    tt_logits_agree(&cmp)));
        }
        char *sj = json_dumps(r, JSON_COMPACT);
        if (sj) puts(sj);
        free(sj);
        json_decref(r);
    } else {
        printf("%s: %s, %d ids, logits of position %d (kernel %s, %d thread%s)\n", path, m->config.arch, n_ids,
               n_ids - 1, m->kernel_name, m->threads, m->threads > 1 ? "s" : "");
        printf("%4s %8s %12s  %s\n", "rank", "id", "logit", tok ? "piece" : "");
        for (int i = 0; i < ntop; i++) {
            size_t n = tok ? tt_tokenizer_decode(tok, topi[i], piece, sizeof piece) : 0;
            printf("%4d %8d %12.6f  ", i + 1, topi[i], (double)last[i]);
            for (size_t b = 0; b < n && b < sizeof piece; b++) /* control bytes visible */
                if ((unsigned char)piece[b] < 0x20 || piece[b] == 0x7f) printf("\\x%02x", (unsigned char)piece[b]);
                else putchar(piece[b]);
            putchar('\n');
        }
        if (greedy) {
            printf("greedy:");
            for (int i = 0; i < greedy; i++) printf(" %d", gen[i]);
            printf("\ngreedy top-1 margins:");
            for (int i = 0; i < greedy; i++) printf(" %.3f", (double)margin[i]);
            putchar('\n');
        }
        if (ref) {
            printf("vs %s: Pearson %.6f, max |diff| %.4g (%.2f %% of the reference's range %.4g), top-1 margin in "
                   "the reference %.4g\n",
                   ref_path, cmp.pearson, cmp.max_abs_diff, cmp.ref_range > 0 ? 100.0 * cmp.max_abs_diff / cmp.ref_range : 0.0,
                   cmp.ref_range, cmp.ref_margin);
            printf("  top-%d reference:", cmp.top);
            for (int i = 0; i < cmp.top; i++) printf(" %d", cmp.top_ref[i]);
            printf("\n  top-%d tritune:  ", cmp.top);
            for (int i = 0; i < cmp.top; i++) printf(" %d", cmp.top_got[i]);
            printf("\n  %s\n", tt_logits_agree(&cmp) ? "agree (Pearson, max |diff|, top-5 up to near ties within the "
                                                       "parity thresholds)"
                                                     : "DISAGREE: outside the parity thresholds");
        }
    }
    rc = check && !tt_logits_agree(&cmp) ? 1 : 0;
    goto out;
fail:
    fprintf(stderr, "tritune eval: %s\n", tt_last_error());
out:
    tt_gguf_close(g);
    free(ids);
    free(ref);
    free(gen);
    free(margin);
    tt_tokenizer_free(tok);
    tt_model_close(m);
    return rc;
}

/* ---- tritune bench-e2e ---- */
static void usage_bench(FILE *f)
{
    fprintf(f, "usage: tritune bench-e2e -m FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 5] [--lm-head f16|q8]\n"
               "                         [--kernel registry|oracle] [--batch N] [--fuse auto|on|off] [--json FILE]\n"
               "                         [--profile] [--no-ceiling] [--weights auto|i2s|tl1|tl2|b3] [--place on|off]\n"
               "                         [--calibrate on|off] [-d DEPTH]\n"
               "-t: thread counts (default: the count the baked profile timed fastest; 1 without one).\n"
               "llama-bench style: pp<P> processes P random tokens from position 0 (logits for the last only);\n"
               "tg<N> generates N tokens from position 0 (logits every token). -d DEPTH (llama-bench's --n-depth):\n"
               "before each pass, DEPTH random tokens fill the KV cache untimed, and the test runs from position\n"
               "DEPTH (named pp<P> @ d<DEPTH>): attention over a long context. Each test runs -r times after one\n"
               "warm-up; t/s is mean ± sample stddev. Prompt tokens go through the batched prefill: one GEMM per\n"
               "linear layer per chunk of --batch tokens (default %d; --batch 1: token by token through the decode\n"
               "GEMV path). Also reported: bytes read per token (ternary weights once per chunk + LM head + norms +\n"
               "KV cache at the mean position), achieved GB/s and its share of the read bandwidth (%% BW: read\n"
               "bandwidth is probed before the first repetition and after each, on a buffer placed like the weights\n"
               "when they were (--place); each repetition is divided by the\n"
               "higher probe around it, the median is shown; the JSON also has the share of the highest probe of\n"
               "the test), energy per token with its source (measured-RAPL,\n"
               "measured-PAPI, measured-perf, or estimated-model where the machine has no meter), RSS with the\n"
               "model loaded (and the process peak, which includes the probe's buffer), the\n"
               "kernels and the LM-head format. --json writes every row with its samples. --profile adds where\n"
               "decode time goes (ms/token per phase: quantization, each GEMV group, attention, LM head, the rest).\n"
               "The read ceiling (tg tests; --no-ceiling: off) replays one token's weight reads in the decode's own\n"
               "pieces (one pool call per GEMV group, then the LM head) with a pure streaming reader and no compute,\n"
               "next to each probe: what this thread count can stream in those pieces; the line shows it as t/s\n"
               "and as %% of the probe, and the share of it decode reached (each repetition against the higher\n"
               "ceiling around it, median). Beside it, the compute ceiling: layer 0's linears and the LM head,\n"
               "each with the model's own kernel, on the first rows of their own weights that stay in the caches\n"
               "(4 MiB per matrix), stood for every layer: the t/s if no read waited for memory, with the GEMVs'\n"
               "and the head's GB/s at those rates. The lower of the two ceilings, the one decode came closer to\n"
               "(the larger median share; each ceiling's t/s shown is its highest measurement), says what bounds\n"
               "this decode (the kernels' arithmetic or the memory); JSON: compute_ceiling_ts, _frac, ....\n"
               WEIGHTS_HELP PLACE_HELP CALIB_HELP,
               TT_MODEL_BATCH_DEFAULT);
}

typedef struct bench_row {
    char test[32];
    int threads, n_prompt, n_gen, reps;
    double *ts;      /* tokens/s per repetition */
    double mean, sd;
    double bytes_per_token, gbps;
    double j_per_token; /* energy over the timed repetitions / their tokens */
    const char *energy_source;
} bench_row;

static void stats(bench_row *r)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < r->reps; i++) s += r->ts[i];
    r->mean = s / r->reps;
    for (int i = 0; i < r->reps; i++) s2 += (r->ts[i] - r->mean) * (r->ts[i] - r->mean);
    r->sd = r->reps > 1 ? sqrt(s2 / (r->reps - 1)) : 0.0;
}

/* ---- the decode's read ceiling ----
 * One decoded token streams every ternary matrix and the LM head, in pieces: one pool call per GEMV group (q/k/v,
 * o, gate/up, down, per layer; then the head), each thread reading its even share of each matrix. The ceiling
 * replays exactly those reads with a pure streaming reader (no compute, no float work between calls) on the same
 * pinned pool. It is what this thread count can stream in those pieces on this host at this moment: the probe is
 * one long stream, so it also counts each call's ramp-up and the wait for the slower thread, which the model pays
 * too. Decode t/s over the ceiling is how much of the achievable stream the kernels and the float work keep. */
#define CEIL_MAX_PIECES 3
typedef struct ceil_group {
    const uint8_t *p[CEIL_MAX_PIECES];
    size_t n[CEIL_MAX_PIECES];
    int np;
    size_t pf;   /* the reader's software prefetch distance: the probe's best (tt_membw_result.prefetch) */
    int streams; /* and its streams per thread (tt_membw_result.streams) */
    volatile uint64_t sink;
} ceil_group;

static void ceil_worker(void *arg, int tid, int nth)
{
    ceil_group *g = arg;
    uint64_t s = 0;
    for (int i = 0; i < g->np; i++) {
        size_t lines = (g->n[i] + 63) / 64, per = lines / (size_t)nth, extra = lines % (size_t)nth;
        size_t l0 = (size_t)tid * per + ((size_t)tid < extra ? (size_t)tid : extra), l1 = l0 + per + ((size_t)tid < extra);
        size_t b0 = l0 * 64 < g->n[i] ? l0 * 64 : g->n[i], b1 = l1 * 64 < g->n[i] ? l1 * 64 : g->n[i];
        if (b1 > b0) s += tt_membw_read_span_streams(g->p[i] + b0, b1 - b0, g->pf, g->streams);
    }
    if (s == 42) g->sink = s; /* keeps the sums live */
}

static void ceil_add(ceil_group *g, const tt_linear *L)
{
    if (L->plan.m && L->plan.packed && g->np < CEIL_MAX_PIECES) {
        g->p[g->np] = L->plan.packed;
        /* the rows a GEMV reads, in its layout (I2_S: m·k/4; TL2 fewer), not the scale tail every layout ends with */
        g->n[g->np++] = L->plan.packed_bytes > TT_TAIL_BYTES ? L->plan.packed_bytes - TT_TAIL_BYTES : L->plan.packed_bytes;
    }
}

/* Median seconds per token of `tokens` replayed token reads (after one unmeasured token), read with prefetch pf
 * bytes ahead (0: plain loads) in `streams` streams per thread's share; *bytes: what one replayed token reads. */
static double decode_read_ceiling(tt_model *m, int tokens, size_t pf, int streams, double *bytes)
{
    const tt_model_config *c = &m->config;
    int ng = 4 * c->n_layers + 1;
    ceil_group *g = calloc((size_t)ng, sizeof *g);
    double *t = calloc((size_t)tokens, sizeof *t), med = 0;
    if (!g || !t) {
        free(g), free(t);
        return 0;
    }
    for (int l = 0; l < c->n_layers; l++) {
        const tt_layer_weights *w = &m->w.layers[l];
        ceil_group *q = &g[4 * l];
        if (w->wqkv.plan.m) ceil_add(q, &w->wqkv);
        else ceil_add(q, &w->wq), ceil_add(q, &w->wk), ceil_add(q, &w->wv);
        ceil_add(&g[4 * l + 1], &w->wo);
        if (w->w_gate_up.plan.m) ceil_add(&g[4 * l + 2], &w->w_gate_up);
        else ceil_add(&g[4 * l + 2], &w->w_gate), ceil_add(&g[4 * l + 2], &w->w_up);
        ceil_add(&g[4 * l + 3], &w->w_down);
    }
    ceil_group *h = &g[ng - 1];
    if (m->w.head_q8) {
        h->p[0] = (const uint8_t *)m->w.head_q8, h->n[0] = (size_t)c->vocab_size * (size_t)c->dim;
        h->p[1] = (const uint8_t *)m->w.head_q8_scale, h->n[1] = (size_t)c->vocab_size * sizeof(float);
        h->np = 2;
    } else {
        h->p[0] = m->w.token_embd->data, h->n[0] = m->w.token_embd->nbytes;
        h->np = 1;
    }
    *bytes = 0;
    for (int i = 0; i < ng; i++) {
        g[i].pf = pf, g[i].streams = streams;
        for (int p = 0; p < g[i].np; p++) *bytes += (double)g[i].n[p];
    }
    for (int r = -1; r < tokens; r++) {
        double t0 = now_s();
        for (int i = 0; i < ng; i++)
            if (g[i].np) tt_pool_run(m->pool, ceil_worker, &g[i]);
        if (r >= 0) t[r] = now_s() - t0;
    }
    qsort(t, (size_t)tokens, sizeof *t, cmp_double);
    med = tokens % 2 ? t[tokens / 2] : 0.5 * (t[tokens / 2 - 1] + t[tokens / 2]);
    free(g), free(t);
    return med;
}

/* Decode's share of a ceiling measured before the first repetition and after each (reps + 1 values): each
 * repetition's t/s against the higher ceiling around it, then the median; 0 when out of memory. */
static double share_of_ceiling(const double *ts, const double *ceil, int reps)
{
    double *f = calloc((size_t)reps, sizeof *f), med = 0;
    if (!f) return 0;
    for (int i = 0; i < reps; i++) f[i] = ts[i] / (ceil[i] > ceil[i + 1] ? ceil[i] : ceil[i + 1]);
    qsort(f, (size_t)reps, sizeof *f, cmp_double);
    med = reps % 2 ? f[reps / 2] : 0.5 * (f[reps / 2 - 1] + f[reps / 2]);
    free(f);
    return med;
}

/* n random token ids, drawn in order (the caller frees them); NULL after tt_fail when out of memory. */
static int *bench_tokens(const tt_model *m, int n, uint64_t *rng)
{
    int *t = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!t) {
        tt_fail(TT_ERR_NOMEM, "bench: no memory for %d tokens", n);
        return NULL;
    }
    for (int i = 0; i < n; i++) t[i] = (int)(tt_rand_next(rng) % (uint64_t)m->config.vocab_size);
    return t;
}

/* The KV cache filled with depth random tokens through the prefill (untimed, unprofiled): what a pass at depth
 * (-d) starts from. */
static tt_status bench_fill(tt_model *m, int depth, uint64_t *rng)
{
    if (depth <= 0) return TT_OK;
    int *fill = bench_tokens(m, depth, rng);
    if (!fill) return TT_ERR_NOMEM;
    bool prof = m->prof;
    m->prof = false;
    tt_status st = tt_model_prefill(m, fill, depth, 0, false);
    m->prof = prof;
    free(fill);
    return st;
}

/* One timed pass: n tokens from position depth (the cache below it filled by bench_fill; 0: from the start). The
 * prompt goes through tt_model_prefill (batched unless batch 1). */
static tt_status bench_pass(tt_model *m, int n, bool gen, uint64_t *rng, double *secs, int depth)
{
    if (!gen) {
        int *toks = bench_tokens(m, n, rng);
        if (!toks) return TT_ERR_NOMEM;
        double t0 = now_s();
        tt_status st = tt_model_prefill(m, toks, n, depth, true);
        *secs = now_s() - t0;
        free(toks);
        return st;
    }
    int tok = (int)(tt_rand_next(rng) % (uint64_t)m->config.vocab_size);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        tt_status st = tt_model_forward(m, tok, depth + i, gen || i == n - 1);
        if (st) return st;
        tok = gen ? tt_argmax(m->s.logits, m->config.vocab_size) : (int)(tt_rand_next(rng) % (uint64_t)m->config.vocab_size);
    }
    *secs = now_s() - t0;
    return TT_OK;
}


static void fmt_count(double v, char *buf, size_t n)
{
    if (v >= 1e9) snprintf(buf, n, "%.2f B", v / 1e9);
    else snprintf(buf, n, "%.2f M", v / 1e6);
}

int tt_cmd_bench_e2e(int argc, char **argv)
{
    const char *path = NULL, *json_path = NULL, *head_s = "f16", *kernel_s = "registry", *fuse_s = "auto";
    const char *weights_s = "auto", *place_s = "on", *calib_s = "on";
    tt_weights weights = TT_WEIGHTS_AUTO;
    long n_prompt = 512, n_gen = 128, reps = 5, batch = 0, depth = 0;
    int threads[16] = {0}, n_threads = 1; /* default: the tuned count */
    tt_opt_ints th = {{0}, 0};
    tt_lm_head head = TT_LM_HEAD_FILE;
    tt_fuse fuse = TT_FUSE_AUTO;
    const tt_plan_backend *backend = &tt_plan_backend_registry;
    bool profile = false, no_ceiling = false, over = false;
    size_t model_rss_max = 0;
    const tt_opt opts[] = {
        TT_O_STR("--model", "-m", &path),
        TT_O_STR("--json", NULL, &json_path),
        TT_O_INT("--n-prompt", "-p", &n_prompt, 0, 1 << 20),
        TT_O_INT("--n-gen", "-n", &n_gen, 0, 1 << 20),
        TT_O_INT("--n-depth", "-d", &depth, 0, 1 << 20),
        TT_O_INT("--repetitions", "-r", &reps, 1, 1000),
        TT_O_INTS("--threads", "-t", &th, 1, 4096),
        TT_O_CHOICE("--lm-head", NULL, &head_s, "f16|file|q8"),
        TT_O_CHOICE("--kernel", NULL, &kernel_s, "registry|oracle"),
        TT_O_INT("--batch", NULL, &batch, 1, TT_MODEL_BATCH_MAX),
        TT_O_CHOICE("--fuse", NULL, &fuse_s, "auto|on|off"),
        TT_O_CHOICE("--weights", NULL, &weights_s, "auto|i2s|tl1|tl2|b3"),
        TT_O_CHOICE("--place", NULL, &place_s, "on|off"),
        TT_O_CHOICE("--calibrate", NULL, &calib_s, "on|off"),
        TT_O_FLAG("--profile", NULL, &profile),
        TT_O_FLAG("--no-ceiling", NULL, &no_ceiling),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "bench-e2e", .usage = usage_bench, .opts = opts, .nopts = TT_NOPTS(opts)},
                           argc, argv);
    if (prc >= 0) return prc;
    bool ceiling = !no_ceiling;
    parse_lm_head(head_s, &head);
    parse_backend(kernel_s, &backend);
    parse_fuse(fuse_s, &fuse);
    parse_weights(weights_s, &weights);
    if (th.n > 16) {
        fprintf(stderr, "tritune bench-e2e: at most 16 thread counts\n");
        return 2;
    }
    if (th.n) n_threads = th.n, memcpy(threads, th.v, sizeof(int) * (size_t)th.n);
    if ((prc = tt_opt_check_threads("bench-e2e", threads, n_threads, over)) >= 0 ||
        (json_path && (prc = tt_opt_check_writable("bench-e2e", json_path)) >= 0))
        return prc;
    if (!path || (!n_prompt && !n_gen)) {
        fprintf(stderr, "tritune bench-e2e: -m FILE.gguf is required, and -p or -n must be > 0\n");
        return 2;
    }
    struct stat sb;
    if (stat(path, &sb)) {
        fprintf(stderr, "tritune bench-e2e: %s: %s\n", path, strerror(errno));
        return 1;
    }
    json_t *rows = json_array();
    tt_head_error herr;
    bool have_herr = false;
    int rc = 0;
    bool header = false;
    tt_topo topo;
    bool have_topo = tt_topo_load(&topo) == TT_OK;
    tt_energy *energy = tt_energy_open(NULL);
    if (!energy) {
        fprintf(stderr, "tritune bench-e2e: no memory for the energy meter\n");
        json_decref(rows);
        if (have_topo) tt_topo_free(&topo);
        return 1;
    }
    if (!threads[0]) threads[0] = default_threads();
    for (int ti = 0; ti < n_threads && !rc; ti++) {
        tt_model_opts o = {.threads = threads[ti], .lm_head = head, .batch = (int)batch, .fuse = fuse,
                           .backend = backend, .weights = weights, .place = strcmp(place_s, "off") ? 0 : -1,
                           .calibrate = strcmp(calib_s, "off") ? 0 : -1};
        if (have_topo) o.bind = bind_cb, o.bind_ctx = &topo;
        o.n_ctx = (int)(depth + (n_prompt > n_gen ? n_prompt : n_gen));
        tt_model *m;
        if (tt_model_open(path, &o, &m)) {
            fprintf(stderr, "tritune bench-e2e: %s\n", tt_last_error());
            rc = 1;
            break;
        }
        size_t model_rss = rss_bytes(); /* the model's footprint, before any bandwidth probe buffer */
        if (model_rss > model_rss_max) model_rss_max = model_rss;
        const tt_model_config *c = &m->config;
        char model[96], params[32], wl[32];
        fmt_count((double)m->n_params, params, sizeof params);
        snprintf(model, sizeof model, "%s %s %s", c->arch, params, weights_label(m, wl, sizeof wl));
        if (!header) {
            char ebuf[400];
            printf("kernel: %s (backend %s; winners: %s)   LM head: %s\n", m->kernel_name, m->backend->name,
                   tt_wisdom_source(), lm_head_label(m));
            if (m->batch > 1)
                printf("prefill: batched, %d tokens per weight pass, GEMM kernel %s%s\n", m->batch, m->gemm_kernel_name,
                       m->bytes_gemm_copy ? " (own packed copy)" : " (shares the GEMV kernel's packed weights)");
            else
                printf("prefill: token by token through the GEMV kernel\n");
            printf("energy: %s\n", tt_energy_describe(energy, ebuf, sizeof ebuf));
            if ((have_herr = report_head_error(m, "bench-e2e", &herr)))
                printf("LM head q8 is lossy: top-1 agrees with the file's %s head at %d/%d fixed positions, mean |logit "
                       "error| %.4f (max %.4f; file-head logits std %.3f)\n",
                       herr.file_head, herr.top1_agree, herr.positions, herr.mean_abs, herr.max_abs, herr.logit_std);
            printf("\n| %-28s | %10s | %9s | %7s | %7s | %12s | %9s | %6s | %5s | %26s |\n", "model", "size", "params",
                   "threads", "test", "t/s", "MB/token", "GB/s", "% BW", "J/token (source)");
            printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------", "-----------:", "----------:",
                   "--------:", "--------:", "-------------:", "----------:", "-------:", "------:",
                   "---------------------------:");
            header = true;
        }
        printf("|   %d thread(s): %s; LM head kernel %s, reading %.1f of the %.1f MB per token\n", m->threads,
               m->fuse_note, m->head_note, m->bytes_head / 1e6, (m->bytes_ternary + m->bytes_head + m->bytes_other) / 1e6);
        printf("|   %d thread(s): ternary weights %.1f MB per token: %s\n", m->threads, m->bytes_ternary / 1e6,
               m->fmt_note);
        if (m->place_note[0]) printf("|   %d thread(s): placement: %s\n", m->threads, m->place_note);
        if (m->pages_note[0]) printf("|   %d thread(s): huge pages: %s\n", m->threads, m->pages_note);
        if (m->calib_note[0]) printf("|   %d thread(s): calibration: %s\n", m->threads, m->calib_note);
        /* ternary multiply-accumulates per token (the energy model's operation count) */
        int qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
        double tern_per_token = (double)c->n_layers * ((double)c->dim * (qd + 2.0 * kvd) + (double)qd * c->dim +
                                                       3.0 * c->dim * c->hidden_dim);
        size_t kv_row = 2 * (size_t)c->n_layers * (size_t)c->n_kv_heads * c->head_dim * sizeof(uint16_t);
        for (int test = 0; test < 2 && !rc; test++) {
            bool gen = test == 1;
            int n = (int)(gen ? n_gen : n_prompt);
            if (!n) continue;
            bench_row r = {.threads = m->threads, .n_prompt = gen ? 0 : n, .n_gen = gen ? n : 0, .reps = (int)reps};
            if (depth) snprintf(r.test, sizeof r.test, "%s%d @ d%ld", gen ? "tg" : "pp", n, depth);
            else snprintf(r.test, sizeof r.test, "%s%d", gen ? "tg" : "pp", n);
            r.ts = calloc((size_t)reps, sizeof *r.ts);
            uint64_t rng = 42;
            double secs;
            if (!r.ts || bench_pass(m, n < 8 ? n : 8, gen, &rng, &secs, 0)) rc = 1; /* warm-up (from position 0) */
            /* Bytes per token: a batched prompt streams the ternary weights once per chunk, the LM head once. */
            int chunks = gen || m->batch <= 1 ? n : (n + m->batch - 1) / m->batch;
            r.bytes_per_token = (double)m->bytes_ternary * chunks / n + (double)m->bytes_other +
                                (double)m->bytes_head * (gen ? 1.0 : 1.0 / n) +
                                (double)kv_row * ((double)depth + (n + 1) / 2.0);
            /* The roofline: streaming read bandwidth at this thread count, probed before the first repetition and
             * after each (median of 5 passes per probe). On a shared host it drifts by tens of percent within a
             * minute, so the bound is the highest probe: "% BW" is then a lower bound on the share achieved. */
            double *probes = calloc((size_t)reps + 1, sizeof *probes), read_gbps = 0;
            double *ceil_ts = calloc((size_t)reps + 1, sizeof *ceil_ts); /* decode read ceiling, t/s, per probe */
            int n_probes = 0, n_ceil = 0;
            size_t ceil_pf = 0; /* the reader of the latest probe's best (plain or a prefetch distance, streams) */
            int ceil_streams = 1;
            double ceil_bytes = 0; /* bytes one replayed token reads (weights only: no KV cache, no norms) */
            /* the compute ceiling beside each probe: the same kernels on cache-resident rows (tt_model_warm_ceiling) */
            double *comp_ts = calloc((size_t)reps + 1, sizeof *comp_ts), comp_gemv = 0, comp_head = 0;
            int n_comp = 0;
            if (!probes || !ceil_ts || !comp_ts) rc = 1;
            tt_energy_reading er = {0};
            double joules = 0, tokens = (double)n * (double)reps;
            tt_energy_work work = {.dram_bytes = r.bytes_per_token * n,
                                   .ops = (tern_per_token + (double)c->vocab_size * c->dim * (gen ? 1.0 : 1.0 / n)) * n,
                                   .threads = m->threads};
            memset(m->prof_ns, 0, sizeof m->prof_ns);
            m->prof = profile && gen;
            for (int i = 0; i <= reps && !rc; i++) {
                tt_membw_opts mo = {.threads = m->threads, .runs = 5, .place = m->placed_rounds};
                tt_membw_result mr;
                if (tt_membw_measure(have_topo ? &topo : NULL, &mo, &mr) == TT_OK) {
                    probes[n_probes++] = mr.gbps_median;
                    if (mr.gbps_median > read_gbps) read_gbps = mr.gbps_median;
                    ceil_pf = mr.prefetch, ceil_streams = mr.streams;
                }
                if (gen && ceiling) {
                    double sec = decode_read_ceiling(m, 9, ceil_pf, ceil_streams, &ceil_bytes);
                    if (sec > 0) ceil_ts[n_ceil++] = 1.0 / sec;
                    tt_warm_ceiling wc;
                    tt_status ws = tt_model_warm_ceiling(m, 15, &wc);
                    if (ws == TT_OK && wc.gemv_s > 0 && wc.head_s > 0) {
                        comp_ts[n_comp++] = 1.0 / (wc.gemv_s + wc.head_s);
                        comp_gemv += wc.gemv_bytes / wc.gemv_s / 1e9, comp_head += wc.head_bytes / wc.head_s / 1e9;
                    } else if (i == 0) /* said once; the test's line and JSON then leave the compute ceiling out */
                        fprintf(stderr, "tritune bench-e2e: compute ceiling not measured: %s\n",
                                ws ? tt_last_error() : "a zero time");
                }
                if (i == reps) break;
                /* energy per repetition (the probes in between are not the model's work) */
                if (bench_fill(m, (int)depth, &rng) || tt_energy_begin(energy) ||
                    bench_pass(m, n, gen, &rng, &secs, (int)depth) || tt_energy_end(energy, &work, &er))
                    rc = 1;
                joules += er.joules;
                r.ts[i] = n / secs;
            }
            er.joules = joules;
            if (rc) {
                free(probes);
                free(ceil_ts);
                free(comp_ts);
                fprintf(stderr, "tritune bench-e2e: %s\n", r.ts ? tt_last_error() : "no memory");
                free(r.ts);
                break;
            }
            stats(&r);
            r.gbps = r.bytes_per_token * r.mean / 1e9;
            /* % BW: each repetition against the higher of the probes just before and just after it (the bandwidth
             * the host gave at that time), then the median over repetitions; also kept: against the highest probe
             * of the whole test (a bandwidth spike at another moment counts against the model). */
            double frac = read_gbps > 0 ? r.gbps / read_gbps : 0, frac_max = frac;
            if (n_probes == reps + 1) {
                double *f = calloc((size_t)reps, sizeof *f);
                for (int i = 0; f && i < reps; i++) {
                    double bound = probes[i] > probes[i + 1] ? probes[i] : probes[i + 1];
                    f[i] = r.bytes_per_token * r.ts[i] / 1e9 / bound;
                }
                if (f) {
                    qsort(f, (size_t)reps, sizeof *f, cmp_double);
                    frac = reps % 2 ? f[reps / 2] : 0.5 * (f[reps / 2 - 1] + f[reps / 2]);
                }
                free(f);
            }
            r.j_per_token = er.joules / tokens;
            r.energy_source = er.label ? er.label : tt_energy_source_name(er.source);
            char ecol[64];
            snprintf(ecol, sizeof ecol, "%.4f (%s)", r.j_per_token, r.energy_source);
            printf("| %-28s | %6.2f GiB | %9s | %7d | %7s | %5.2f ± %4.2f | %9.1f | %6.2f | %4.0f%% | %26s |\n", model,
                   sb.st_size / 1073741824.0, params, r.threads, r.test, r.mean, r.sd, r.bytes_per_token / 1e6, r.gbps,
                   100 * frac, ecol);
            double ceil_max = 0, ceil_frac = 0, ceil_probe = 0;
            for (int i = 0; i < n_ceil; i++) ceil_max = ceil_ts[i] > ceil_max ? ceil_ts[i] : ceil_max;
            bool ceil_done = n_ceil == reps + 1;
            if (ceil_done) {
                ceil_frac = share_of_ceiling(r.ts, ceil_ts, reps);
                /* the ceiling's own share of the probe taken just before it (same moment, same threads), in the
                 * bytes the replay reads; only when every probe succeeded, so that the pairs line up */
                double *cp = n_probes == reps + 1 ? calloc((size_t)reps + 1, sizeof *cp) : NULL;
                int ncp = 0;
                for (int i = 0; cp && i < n_ceil; i++)
                    if (probes[i] > 0) cp[ncp++] = ceil_ts[i] * ceil_bytes / 1e9 / probes[i];
                if (cp && ncp) {
                    qsort(cp, (size_t)ncp, sizeof *cp, cmp_double);
                    ceil_probe = ncp % 2 ? cp[ncp / 2] : 0.5 * (cp[ncp / 2 - 1] + cp[ncp / 2]);
                }
                free(cp);
                char cpb[48] = "";
                if (ncp) snprintf(cpb, sizeof cpb, " (%.0f%% of the probe beside it, median)", 100 * ceil_probe);
                printf("|   read ceiling, %s at %d thread(s): the same weight bytes read in the decode's pieces, no "
                       "compute: %.2f t/s%s; decode reached %.0f%% of it\n", r.test, r.threads, ceil_max, cpb,
                       100 * ceil_frac);
            }
            /* the compute ceiling, measured beside the read ceiling */
            double comp_max = 0, comp_frac = 0;
            for (int i = 0; i < n_comp; i++) comp_max = comp_ts[i] > comp_max ? comp_ts[i] : comp_max;
            bool comp_done = n_comp == reps + 1;
            if (comp_done) {
                comp_frac = share_of_ceiling(r.ts, comp_ts, reps);
                comp_gemv /= n_comp, comp_head /= n_comp;
                printf("|   compute ceiling, %s at %d thread(s): the same kernels on cache-resident rows of their own "
                       "weights, no read waiting for memory: %.2f t/s (ternary GEMVs %.1f GB/s, LM head %.1f GB/s, "
                       "mean of %d); decode reached %.0f%% of it%s\n",
                       r.test, r.threads, comp_max, comp_gemv, comp_head, n_comp, 100 * comp_frac,
                       ceil_done ? (tt_compute_ceiling_binds(ceil_max, ceil_frac, comp_max, comp_frac)
                                        ? " (the lower ceiling: the kernels, not the memory, bound this decode)"
                                        : " (the read ceiling is the lower)")
                                 : "");
            }
            if (m->prof) {
                double total = 0;
                for (int p = 0; p < TT_PROF_COUNT; p++) total += m->prof_ns[p];
                printf("|   profile, %s at %d thread(s), ms/token:", r.test, r.threads);
                for (int p = 0; p < TT_PROF_COUNT; p++)
                    printf(" %s %.3f (%.0f%%)%s", tt_prof_phase_name(p), m->prof_ns[p] / 1e6 / tokens,
                           total > 0 ? 100 * m->prof_ns[p] / total : 0.0, p + 1 < TT_PROF_COUNT ? "," : "\n");
            }
            fflush(stdout);
            json_t *row = json_object(), *samples = json_array();
            for (int i = 0; i < reps; i++) json_array_append_new(samples, json_real(r.ts[i]));
            json_object_set_new(row, "model", json_string(model));
            json_object_set_new(row, "model_file", json_string(path));
            json_object_set_new(row, "model_size", json_integer((json_int_t)sb.st_size));
            json_object_set_new(row, "model_n_params", json_integer((json_int_t)m->n_params));
            json_object_set_new(row, "backend", json_string(m->backend->name));
            json_object_set_new(row, "kernel", json_string(m->kernel_name));
            json_object_set_new(row, "prefill", json_string(m->batch > 1 ? "batched" : "token-by-token"));
            json_object_set_new(row, "prefill_batch", json_integer(m->batch));
            json_object_set_new(row, "gemm_kernel", m->batch > 1 ? json_string(m->gemm_kernel_name) : json_null());
            json_object_set_new(row, "lm_head", json_string(lm_head_label(m)));
            json_object_set_new(row, "fused_qkv", json_boolean(m->fused_qkv));
            json_object_set_new(row, "fused_gate_up", json_boolean(m->fused_gate_up));
            json_object_set_new(row, "fusion", json_string(m->fuse_note));
            json_object_set_new(row, "weights", json_string(m->fmt_note));
            json_object_set_new(row, "placement", json_string(m->place_note));
            json_object_set_new(row, "huge_pages", json_string(m->pages_note));
            if (m->huge_frac >= 0) json_object_set_new(row, "huge_pages_frac", json_real(m->huge_frac));
            json_object_set_new(row, "calibration", json_string(m->calib_note));
            json_object_set_new(row, "lm_head_kernel", json_string(m->head_note));
            json_object_set_new(row, "n_threads", json_integer(r.threads));
            json_object_set_new(row, "test", json_string(r.test));
            json_object_set_new(row, "n_prompt", json_integer(r.n_prompt));
            json_object_set_new(row, "n_gen", json_integer(r.n_gen));
            json_object_set_new(row, "n_depth", json_integer(depth));
            json_object_set_new(row, "avg_ts", json_real(r.mean));
            json_object_set_new(row, "stddev_ts", json_real(r.sd));
            json_object_set_new(row, "samples_ts", samples);
            json_object_set_new(row, "bytes_per_token", json_real(r.bytes_per_token));
            json_object_set_new(row, "achieved_gbps", json_real(r.gbps));
            if (m->prof) {
                json_t *pr = json_object();
                for (int p = 0; p < TT_PROF_COUNT; p++)
                    json_object_set_new(pr, tt_prof_phase_name(p), json_real(m->prof_ns[p] / 1e6 / tokens));
                json_object_set_new(row, "profile_ms_per_token", pr);
            }
            json_object_set_new(row, "read_gbps", json_real(read_gbps));
            json_t *pj = json_array();
            for (int i = 0; i < n_probes; i++) json_array_append_new(pj, json_real(probes[i]));
            json_object_set_new(row, "read_gbps_probes", pj);
            free(probes);
            json_object_set_new(row, "bw_frac", json_real(frac));
            if (n_ceil) {
                json_t *cj = json_array();
                for (int i = 0; i < n_ceil; i++) json_array_append_new(cj, json_real(ceil_ts[i]));
                json_object_set_new(row, "read_ceiling_ts_probes", cj);
                json_object_set_new(row, "read_ceiling_ts", json_real(ceil_max));
                json_object_set_new(row, "ceiling_frac", ceil_done ? json_real(ceil_frac) : json_null());
                json_object_set_new(row, "ceiling_vs_probe", ceil_probe > 0 ? json_real(ceil_probe) : json_null());
                json_object_set_new(row, "read_ceiling_bytes_per_token", json_real(ceil_bytes));
                json_t *kp = json_array();
                for (int i = 0; i < n_comp; i++) json_array_append_new(kp, json_real(comp_ts[i]));
                json_object_set_new(row, "compute_ceiling_ts_probes", kp);
                json_object_set_new(row, "compute_ceiling_ts", comp_done ? json_real(comp_max) : json_null());
                json_object_set_new(row, "compute_ceiling_frac", comp_done ? json_real(comp_frac) : json_null());
                json_object_set_new(row, "compute_gemv_gbps", comp_done ? json_real(comp_gemv) : json_null());
                json_object_set_new(row, "compute_head_gbps", comp_done ? json_real(comp_head) : json_null());
            }
            free(ceil_ts);
            free(comp_ts);
            json_object_set_new(row, "bw_frac_vs_max_probe", json_real(frac_max));
            json_object_set_new(row, "energy_j_per_token", json_real(r.j_per_token));
            json_object_set_new(row, "energy_source", json_string(r.energy_source));
            json_object_set_new(row, "energy_estimated", json_boolean(er.estimated));
            json_object_set_new(row, "peak_rss_bytes", json_integer((json_int_t)peak_rss_bytes()));
            json_object_set_new(row, "model_rss_bytes", json_integer((json_int_t)model_rss));
            json_array_append_new(rows, row);
            free(r.ts);
        }
        tt_model_close(m);
    }
    tt_energy_close(energy);
    if (have_topo) tt_topo_free(&topo);
    if (model_rss_max)
        printf("\nRSS with the model loaded: %.1f MB (process peak %.1f MB, with the bandwidth probe's buffer)\n",
               model_rss_max / 1e6, peak_rss_bytes() / 1e6);
    if (!rc && json_path) {
        json_t *root = json_object();
        json_object_set_new(root, "schema", json_string("tritune-e2e/1"));
        { /* provenance, so that a published row can say what made it (the report's index reads these) */
            const char *commit = getenv("TRITUNE_COMMIT");
            char gitc[48] = "unknown";
            if (commit && *commit) snprintf(gitc, sizeof gitc, "%s", commit);
            else { /* cheap when run from a checkout; "unknown" otherwise, never invented */
                FILE *g = popen("git rev-parse --short HEAD 2>/dev/null", "r");
                if (g) {
                    char line[48] = "";
                    if (fgets(line, sizeof line, g)) line[strcspn(line, "\r\n")] = 0;
                    if (pclose(g) == 0 && line[0]) snprintf(gitc, sizeof gitc, "%s", line);
                }
            }
            json_object_set_new(root, "commit", json_string(gitc));
            char when[32];
            time_t now = time(NULL);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
            json_object_set_new(root, "date", json_string(when));
            /* cpu_id as the tuner's results/<cpu-id>/ folder name: brand slug, family, model, cores */
            tt_cpu_id id;
            tt_cpu_id_current(&id);
            if (!id.cores && have_topo) id.cores = topo.cores;
            char slug[64], cpu_id[128];
            size_t sn = 0;
            for (const char *c = id.brand; *c && sn + 1 < sizeof slug; c++) {
                char ch = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
                if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) slug[sn++] = ch;
                else if (sn && slug[sn - 1] != '-') slug[sn++] = '-';
            }
            while (sn && slug[sn - 1] == '-') sn--;
            slug[sn] = 0;
            snprintf(cpu_id, sizeof cpu_id, "%s-f%dm%d-%dc", sn ? slug : id.arch, id.family, id.model, id.cores);
            json_object_set_new(root, "cpu_id", json_string(cpu_id));
#ifdef TT_VERSION
            json_object_set_new(root, "tritune_version", json_string(TT_VERSION));
#else
            json_object_set_new(root, "tritune_version", json_string("0.1.0")); /* meson project version */
#endif
            json_object_set_new(root, "winners", json_string(tt_wisdom_source()));
            /* model digest: a fast content hash, not a cryptographic one — the file size plus FNV-1a 64 over the
             * first MiB (which holds the GGUF header and metadata) and the last MiB; reading 2 MiB instead of
             * hashing all 1.2 GB keeps bench-e2e quick. Enough to tell model files apart, not to authenticate. */
            FILE *mf = fopen(path, "rb");
            if (mf) {
                uint64_t h = 1469598103934665603ULL;
                long long size = (long long)sb.st_size;
                unsigned char *buf = malloc(1 << 20);
                for (int part = 0; buf && part < 2; part++) {
                    long long off = part ? (size > (1 << 20) ? size - (1 << 20) : 0) : 0;
                    if (part && size <= (1 << 20)) break; /* small file: the first read covered it */
                    if (fseeko(mf, (off_t)off, SEEK_SET)) break;
                    size_t got = fread(buf, 1, 1 << 20, mf);
                    for (size_t q = 0; q < got; q++) h = (h ^ buf[q]) * 1099511628211ULL;
                }
                free(buf);
                fclose(mf);
                char dg[96];
                snprintf(dg, sizeof dg, "%lld:%016llx", size, (unsigned long long)h);
                json_object_set_new(root, "model_digest",
                                    json_pack("{s:s, s:s}", "algorithm",
                                              "tt-fast64: file size + FNV-1a 64 of the first and last MiB (not SHA-256)",
                                              "value", dg));
            } else {
                json_object_set_new(root, "model_digest", json_null());
            }
        }
        if (have_herr) json_object_set_new(root, "lm_head_error", head_error_json(&herr));
        json_object_set_new(root, "rows", rows);
        rows = NULL;
        if (json_dump_file(root, json_path, JSON_INDENT(2))) {
            fprintf(stderr, "tritune bench-e2e: cannot write %s\n", json_path);
            rc = 1;
        }
        json_decref(root);
    }
    json_decref(rows);
    return rc;
}

/* ---- tritune bench-ab: model configurations raced inside the model, interleaved in one process ---- */
static void usage_ab(FILE *f)
{
    fprintf(f, "usage: tritune bench-ab -m FILE.gguf [--weights i2s,tl2] [--lm-head file,q8] [--head-kernel A,B]\n"
               "                        [--kernel A,B] [--place off,on] [--pages whole,exact] [--fuse on,off]\n"
               "                        [--profiles A.json,B.json] [--control]\n"
               "                        [-t N] [-n 64] [-r 6] [--json FILE] [--wisdom FILE | --no-wisdom]\n"
               "-t: threads (default: the count the profile timed fastest; 1 without one).\n"
               "Decode speed of several configurations of one model file, compared inside the model. Every\n"
               "combination of\n"
               "  --weights      ternary formats (auto, i2s, tl1, tl2, b3; all exact, the same logits),\n"
               "  --lm-head      file or q8,\n"
               "  --head-kernel  LM-head kernels of the head's kind (tritune list --heads; auto: the model's pick),\n"
               "  --kernel       one GEMV kernel for every ternary matrix, as TRITUNE_KERNEL forces it (auto: the\n"
               "                 model's picks),\n"
               "  --place        on or off (the load-time placement, run --help; default on); a list such as\n"
               "                 off,on,off,on loads a copy for each entry\n"
               "  --pages        whole (default): the weights in mappings of whole 2 MiB pages (tt_alloc); exact:\n"
               "                 as before that, a matrix under 2 MiB and the last part of a longer one on 4 KiB\n"
               "                 pages (for measuring what whole huge pages are worth)\n"
               "  --fuse         auto, on, off (run --help): q/k/v and gate/up as one GEMV each or not\n"
               "  --profiles     tuning profiles (wisdom), each installed before its copy is loaded: every pick\n"
               "                 the model makes at load (GEMV, prefill and LM-head kernels, formats, fusion)\n"
               "                 follows it; e.g. two `make tune` runs, or a profile against the untuned\n"
               "                 defaults with `none` (no profile and no baked table: static defaults and the\n"
               "                 calibration at load); tritune wisdom diff compares the profiles themselves\n"
               "is loaded at once, and each round decodes -n tokens (tg, from position 0, logits every token) with\n"
               "each configuration in turn, the order rotated every round so that drift in the host's bandwidth\n"
               "falls on all of them alike. After one warm-up round, -r rounds are timed.\n"
               "Configurations that differ only in --head-kernel share one loaded model (the head kernel is swapped\n"
               "before each pass: the same bytes at the same addresses; a kernel that reads the head interleaved,\n"
               "_il16, and one that reads its rows as stored each read their own copy, made before the first pass and\n"
               "placed as the model's weights were). The others each load a copy, and where a\n"
               "copy's pages land can move its speed by itself (unplaced copies of one configuration decoded up to\n"
               "19 %% apart on the VM class this was written on; placement narrows that):\n"
               "--control loads configuration 1 a second time and reports it as one more configuration, the floor\n"
               "below which a difference between copies means nothing.\n"
               "Prints each configuration's t/s per round, its median, its weight bytes per token, and the median\n"
               "over rounds of its speed relative to the first configuration in the same round. --json writes\n"
               "the same. At least two configurations, at most 8.\n");
}

enum { AB_MAX = 8 }; /* bench-ab configurations */

typedef struct ab_cfg {
    tt_weights weights;
    tt_lm_head head;
    const char *head_kernel; /* NULL: the model's pick */
    const char *kernel;      /* GEMV kernel for every ternary matrix (NULL: the model's picks) */
    int place;               /* tt_model_opts.place */
    int place_i;             /* its position in --place (each position loads a copy of its own) */
    bool exact;              /* --pages exact: the model's buffers allocated as before slabs (tt_alloc_set_exact) */
    tt_fuse fuse;            /* --fuse: q/k/v and gate/up as one GEMV each (auto: the profile's choice) */
    int profile;             /* --profiles: index into the list (-1: the wisdom in effect at start) */
    char label[160];
    tt_model *m;
    int owner;                         /* the configuration whose loaded model this one runs (itself, or an earlier
                                        * one that differs only in the head kernel: the same bytes in memory) */
    const tt_dense_variant *head_v;    /* its LM-head kernel on that model */
    char head_note[192];
    double *ts;
} ab_cfg;

/* Why a --head-kernel name cannot be raced here (NULL: it can). */
static const char *check_head_kernel(const char *k)
{
    const tt_dense_variant *v = tt_dense_variant_find(k);
    return !v ? "no such LM-head kernel (tritune list --heads)" : !tt_dense_variant_usable(v) ? "needs an ISA this CPU lacks"
                                                                                               : NULL;
}

/* Why a --kernel name cannot be raced here (NULL: it can). */
static const char *check_gemv_kernel(const char *k)
{
    static char why[200];
    const tt_variant *v = tt_variant_find(k);
    why[0] = 0;
    if (!v) return "no such kernel (tritune list)";
    if (v->op != TT_OP_GEMV) return "not a GEMV kernel";
    return tt_variant_eligible(v, tt_cpu_get(), why, sizeof why) ? NULL : why;
}

/* A comma-separated list of kernel names into out[] (at most AB_MAX; "auto" becomes NULL; none: one NULL), the
 * names kept in buf. -1 after printing why when a name is refused or there are too many. */
static int ab_names(const char *list, const char *opt, const char *(*check)(const char *), char *buf, size_t n,
                    const char **out)
{
    int c = 0;
    snprintf(buf, n, "%s", list);
    for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        const char *why = strcmp(k, "auto") ? check(k) : NULL;
        if (c == AB_MAX || why) {
            fprintf(stderr, "tritune bench-ab: %s %s: %s\n", opt, k, why ? why : "too many names");
            return -1;
        }
        out[c++] = strcmp(k, "auto") ? k : NULL;
    }
    if (!c) out[c++] = NULL;
    return c;
}

/* A comma-separated list of the n words w[] into out[] as their indices in w (at most max; none: one entry empty, or
 * no entry when empty < 0). -1 after printing why when a word is none of them or there are too many. */
static int ab_word_list(const char *list, const char *opt, const char *const *w, int n, int max, int empty, int *out)
{
    char buf[128];
    int c = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        int i = 0;
        while (i < n && strcmp(k, w[i])) i++;
        if (c == max || i == n) {
            fprintf(stderr, "tritune bench-ab: %s %s: expected a list of ", opt, list);
            for (int j = 0; j < n; j++) fprintf(stderr, "%s%s", j == 0 ? "" : j < n - 1 ? ", " : " and ", w[j]);
            fprintf(stderr, " (at most %d)\n", max);
            return -1;
        }
        out[c++] = i;
    }
    if (!c && empty >= 0) out[c++] = empty;
    return c;
}

int tt_cmd_bench_ab(int argc, char **argv)
{
    const char *path = NULL, *json_path = NULL, *weights_s = "auto", *head_s = "file", *hk_s = "auto", *gk_s = "auto", *place_s = "on",
               *pages_s = "whole", *fuse_s = "auto", *prof_s = NULL;
    long threads = 0, n_gen = 64, reps = 6;
    bool over = false, control = false;
    const tt_opt opts[] = {
        TT_O_STR("--model", "-m", &path),
        TT_O_FLAG("--control", NULL, &control),
        TT_O_STR("--weights", NULL, &weights_s),
        TT_O_STR("--lm-head", NULL, &head_s),
        TT_O_STR("--head-kernel", NULL, &hk_s),
        TT_O_STR("--kernel", NULL, &gk_s),
        TT_O_STR("--place", NULL, &place_s),
        TT_O_STR("--pages", NULL, &pages_s),
        TT_O_STR("--fuse", NULL, &fuse_s),
        TT_O_STR("--profiles", NULL, &prof_s),
        TT_O_INT("--threads", "-t", &threads, 1, 4096),
        TT_O_INT("--n-gen", "-n", &n_gen, 1, 1 << 16),
        TT_O_INT("--repetitions", "-r", &reps, 1, 1000),
        TT_O_STR("--json", NULL, &json_path),
        TT_O_FLAG("--oversubscribe", NULL, &over),
    };
    int prc = tt_opt_parse(&(tt_cmd){.verb = "bench-ab", .usage = usage_ab, .opts = opts, .nopts = TT_NOPTS(opts)},
                           argc, argv);
    if (prc >= 0) return prc;
    int th = threads ? (int)threads : default_threads();
    if ((prc = tt_opt_check_threads("bench-ab", &th, 1, over)) >= 0 ||
        (json_path && (prc = tt_opt_check_writable("bench-ab", json_path)) >= 0))
        return prc;
    if (!path) {
        fprintf(stderr, "tritune bench-ab: -m FILE.gguf is required\n");
        return 2;
    }
    ab_cfg cfg[AB_MAX];
    int nc = 0;
    char wl[128], hl[64], kl[512], gl[1024];
    const char *kn[AB_MAX], *gn[AB_MAX];
    const int nk = ab_names(hk_s, "--head-kernel", check_head_kernel, kl, sizeof kl, kn),
              ng = ab_names(gk_s, "--kernel", check_gemv_kernel, gl, sizeof gl, gn);
    if (nk < 0 || ng < 0) return 2;
    int pl[AB_MAX], pg[AB_MAX], fu[3];
    const int npl = ab_word_list(place_s, "--place", (const char *const[]){"off", "on"}, 2, AB_MAX, 0, pl),
              npg = ab_word_list(pages_s, "--pages", (const char *const[]){"whole", "exact"}, 2, 2, 0, pg);
    if (npl < 0 || npg < 0) return 2;
    for (int i = 0; i < npl; i++) pl[i] = pl[i] ? 8 : -1; /* on: placed with 8 probe rounds */
    /* fu[] holds tt_fuse values (fuse_names' order); an empty --fuse list gives no configuration, as it did */
    static const char *const fn[] = {"fusion auto", "fused", "not fused"};
    const int nf = ab_word_list(fuse_s, "--fuse", fuse_names, 3, 3, -1, fu);
    if (nf < 0) return 2;
    /* --profiles: each path is read now, so a bad one is refused before any model is loaded */
    char pbuf[2048];
    const char *pn[AB_MAX];
    int np = 0;
    if (prof_s) {
        snprintf(pbuf, sizeof pbuf, "%s", prof_s);
        for (char *save = NULL, *k = strtok_r(pbuf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
            tt_profile tp;
            if (np == AB_MAX) {
                fprintf(stderr, "tritune bench-ab: --profiles: at most %d\n", AB_MAX);
                return 2;
            }
            if (strcmp(k, "none")) {
                if (tt_profile_read(k, &tp)) {
                    fprintf(stderr, "tritune bench-ab: --profiles: %s\n", tt_last_error());
                    return 2;
                }
                tt_profile_free(&tp);
            }
            pn[np++] = k;
        }
        if (!np) {
            fprintf(stderr, "tritune bench-ab: --profiles: expected a list of profile.json files (or none)\n");
            return 2;
        }
        for (int i = 0; i < np; i++) printf("profile %d: %s\n", i + 1, strcmp(pn[i], "none") ? pn[i] : "none (untuned defaults)");
    }
    const int npr = np ? np : 1;
    char start_src[700]; /* the wisdom in effect at start: what configurations without --profiles run */
    snprintf(start_src, sizeof start_src, "%s", tt_wisdom_source());

    snprintf(wl, sizeof wl, "%s", weights_s);
    for (char *w = strtok(wl, ","); w; w = strtok(NULL, ",")) {
        tt_weights wf;
        if (!parse_weights(w, &wf)) {
            fprintf(stderr, "tritune bench-ab: --weights %s: expected auto, i2s, tl1, tl2 or b3\n", w);
            return 2;
        }
        snprintf(hl, sizeof hl, "%s", head_s);
        char *save = NULL;
        for (char *h = strtok_r(hl, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
            tt_lm_head lh;
            if (!parse_lm_head(h, &lh)) {
                fprintf(stderr, "tritune bench-ab: --lm-head %s: expected file or q8\n", h);
                return 2;
            }
            for (int ki = 0; ki < nk; ki++)
                for (int gi = 0; gi < ng; gi++)
                    for (int pi = 0; pi < npl; pi++)
                        for (int xi = 0; xi < npg; xi++)
                            for (int fi = 0; fi < nf; fi++)
                                for (int ri = 0; ri < npr; ri++) {
                                    if (nc == AB_MAX) {
                                        fprintf(stderr, "tritune bench-ab: at most %d configurations\n", AB_MAX);
                                        return 2;
                                    }
                                    cfg[nc] = (ab_cfg){.weights = wf, .head = lh, .head_kernel = kn[ki],
                                                       .kernel = gn[gi], .place = pl[pi], .place_i = pi,
                                                       .exact = pg[xi], .fuse = (tt_fuse)fu[fi],
                                                       .profile = np ? ri : -1};
                                    char pr[24] = "";
                                    if (np) snprintf(pr, sizeof pr, ", profile %d", ri + 1);
                                    snprintf(cfg[nc].label, sizeof cfg[nc].label, "%s, %s%s%s%s%s%s%s",
                                             gn[gi] ? gn[gi] : w, kn[ki] ? kn[ki] : "head ", kn[ki] ? "" : h,
                                             npl > 1 ? (pl[pi] > 0 ? ", placed" : ", not placed") : "",
                                             npg > 1 ? (pg[xi] ? ", exact mappings" : ", whole huge pages") : "",
                                             nf > 1 ? ", " : "", nf > 1 ? fn[fu[fi]] : "", pr);
                                    nc++;
                                }
        }
    }
    if (control) { /* configuration 1 again, in a copy of its own: the placement floor */
        if (nc == AB_MAX) {
            fprintf(stderr, "tritune bench-ab: at most %d configurations (with --control)\n", AB_MAX);
            return 2;
        }
        cfg[nc] = cfg[0];
        snprintf(cfg[nc].label, sizeof cfg[nc].label, "control: config 1, another copy");
        nc++;
    }
    if (nc < 2) {
        fprintf(stderr, "tritune bench-ab: give at least two configurations (e.g. --weights i2s,tl2)\n");
        return 2;
    }
    /* Configurations that differ only in the LM-head kernel run one loaded model (the kernel is swapped before each
     * pass): they read the same bytes at the same addresses. Two copies of one model differ in where their pages
     * landed, and on this VM class that alone moved identical configurations by up to 9 % (bench-ab --control). */
    for (int i = 0; i < nc; i++) {
        cfg[i].owner = i;
        for (int j = 0; j < i && (!control || i < nc - 1); j++)
            if (cfg[j].owner == j && cfg[j].weights == cfg[i].weights && cfg[j].head == cfg[i].head &&
                cfg[j].place == cfg[i].place && cfg[j].place_i == cfg[i].place_i && cfg[j].exact == cfg[i].exact &&
                cfg[j].fuse == cfg[i].fuse && cfg[j].profile == cfg[i].profile &&
                ((!cfg[j].kernel && !cfg[i].kernel) ||
                 (cfg[j].kernel && cfg[i].kernel && !strcmp(cfg[j].kernel, cfg[i].kernel)))) {
                cfg[i].owner = j;
                break;
            }
    }
    tt_wisdom_saved *saved_wisdom = NULL; /* put back before returning: a caller's later commands see no change */
    if (np && !(saved_wisdom = tt_wisdom_detach())) {
        fprintf(stderr, "tritune bench-ab: no memory\n");
        return 1;
    }
    tt_topo topo;
    bool have_topo = tt_topo_load(&topo) == TT_OK;
    int rc = 0;
    for (int i = 0; i < nc && !rc; i++) {
        if (cfg[i].owner != i) { /* the owner's model with this configuration's head kernel */
            ab_cfg *o = &cfg[cfg[i].owner];
            const tt_dense_variant *hv = cfg[i].head_kernel ? tt_dense_variant_find(cfg[i].head_kernel) : NULL;
            if (!o->m->head_v || (hv && hv->kind != o->m->head_v->kind)) {
                rc = tt_fail(TT_ERR_VALUE, "head kernel %s: not a kernel for this LM-head format",
                             cfg[i].head_kernel ? cfg[i].head_kernel : "auto");
                break;
            }
            char why[120];
            if (!hv && !o->head_kernel) /* auto: the owner picked it so (wisdom, default or calibration) */
                hv = o->m->head_v;
            else if (!hv && cfg[i].profile >= 0 && tt_wisdom_use(pn[cfg[i].profile], "bench-ab")) {
                rc = 2; /* the pick below reads the wisdom in effect: this configuration's, not the last loaded */
                break;
            } else if (!hv) /* auto: what a model opened without a head kernel picks (uncalibrated) */
                hv = tt_pick_head(o->m->head_v->kind, o->m->config.vocab_size, o->m->config.dim, th, why, sizeof why,
                                  NULL);
            /* the bytes this kernel reads (an _il member's interleaved copy), made now, not in a timed pass */
            if (hv && tt_model_head_use(o->m, hv)) {
                rc = 1;
                break;
            }
            o->m->head_v = o->head_v;
            cfg[i].m = o->m, cfg[i].head_v = hv;
            cfg[i].ts = calloc((size_t)reps, sizeof *cfg[i].ts);
            if (!cfg[i].ts) rc = tt_fail(TT_ERR_NOMEM, "no memory");
            snprintf(cfg[i].head_note, sizeof cfg[i].head_note, "%s (on config %d's loaded model)", hv ? hv->name : "?",
                     cfg[i].owner + 1);
            printf("config %d: %s: config %d's model, LM head %s\n", i + 1, cfg[i].label, cfg[i].owner + 1,
                   cfg[i].head_note);
            continue;
        }
        tt_model_opts o = {.threads = th, .n_ctx = (int)n_gen, .lm_head = cfg[i].head, .weights = cfg[i].weights,
                           .head_kernel = cfg[i].head_kernel, .place = cfg[i].place, .fuse = cfg[i].fuse};
        if (have_topo) o.bind = bind_cb, o.bind_ctx = &topo;
        cfg[i].ts = calloc((size_t)reps, sizeof *cfg[i].ts);
        if (!cfg[i].ts) rc = tt_fail(TT_ERR_NOMEM, "no memory");
        else {
            /* a forced GEMV kernel is read when the plans are made, at open: set for this model's open only */
            const char *prev = getenv("TRITUNE_KERNEL");
            char *saved = prev ? strdup(prev) : NULL;
            if (cfg[i].kernel) setenv("TRITUNE_KERNEL", cfg[i].kernel, 1);
            tt_alloc_set_exact(cfg[i].exact);
            if (cfg[i].profile >= 0) { /* this copy's wisdom; every pick at open reads it */
                if (tt_wisdom_use(pn[cfg[i].profile], "bench-ab")) rc = 2;
            }
            if (!rc && tt_model_open(path, &o, &cfg[i].m)) rc = 1;
            tt_alloc_set_exact(false);
            if (cfg[i].kernel) {
                if (saved) setenv("TRITUNE_KERNEL", saved, 1);
                else unsetenv("TRITUNE_KERNEL");
            }
            free(saved);
        }
        if (rc) break;
        cfg[i].head_v = cfg[i].m->head_v;
        snprintf(cfg[i].head_note, sizeof cfg[i].head_note, "%s", cfg[i].m->head_note);
        if (cfg[i].m->place_note[0]) printf("config %d: placement: %s\n", i + 1, cfg[i].m->place_note);
        if (cfg[i].m->pages_note[0]) printf("config %d: huge pages: %s\n", i + 1, cfg[i].m->pages_note);
        if (cfg[i].m->fuse_note[0]) printf("config %d: fusion: %s\n", i + 1, cfg[i].m->fuse_note);
        if (cfg[i].m->calib_note[0]) printf("config %d: calibration: %s\n", i + 1, cfg[i].m->calib_note);
        printf("config %d: %s: %.1f MB per token (ternary %.1f: %s; LM head %s)\n", i + 1, cfg[i].label,
               (cfg[i].m->bytes_ternary + cfg[i].m->bytes_head + cfg[i].m->bytes_other) / 1e6,
               cfg[i].m->bytes_ternary / 1e6, cfg[i].m->fmt_note, cfg[i].m->head_note);
    }
    if (!rc) {
        printf("tg%ld at %d thread(s), %ld rounds after one warm-up round, configurations in turn, order rotated each "
               "round\n", n_gen, th, reps);
        fflush(stdout);
    }
    for (int round = -1; round < reps && !rc; round++) {
        for (int j = 0; j < nc && !rc; j++) {
            int i = (j + (round < 0 ? 0 : round)) % nc;
            uint64_t rng = 42 + (uint64_t)(round + 1); /* the same start token for every configuration in a round */
            double secs;
            cfg[i].m->head_v = cfg[i].head_v;
            if (bench_pass(cfg[i].m, (int)n_gen, true, &rng, &secs, 0)) rc = 1;
            else if (round >= 0) cfg[i].ts[round] = (double)n_gen / secs;
        }
    }
    if (rc) fprintf(stderr, "tritune bench-ab: %s\n", tt_last_error());
    json_t *rows = json_array();
    for (int i = 0; i < nc && !rc; i++) {
        double *tmp = malloc(sizeof(double) * (size_t)reps), *ratio = malloc(sizeof(double) * (size_t)reps);
        if (!tmp || !ratio) {
            free(tmp), free(ratio);
            rc = 1;
            break;
        }
        for (int r = 0; r < reps; r++) tmp[r] = cfg[i].ts[r], ratio[r] = cfg[i].ts[r] / cfg[0].ts[r];
        qsort(tmp, (size_t)reps, sizeof *tmp, cmp_double);
        qsort(ratio, (size_t)reps, sizeof *ratio, cmp_double);
        double med = reps % 2 ? tmp[reps / 2] : 0.5 * (tmp[reps / 2 - 1] + tmp[reps / 2]);
        double rmed = reps % 2 ? ratio[reps / 2] : 0.5 * (ratio[reps / 2 - 1] + ratio[reps / 2]);
        int faster = 0;
        for (int r = 0; r < reps; r++) faster += cfg[i].ts[r] > cfg[0].ts[r];
        printf("| %-40s | t/s per round:", cfg[i].label);
        for (int r = 0; r < reps; r++) printf(" %.2f", cfg[i].ts[r]);
        if (i) printf(" | median %.2f t/s | vs config 1: median %.3fx (faster in %d of %ld rounds)\n", med, rmed, faster, reps);
        else printf(" | median %.2f t/s | reference\n", med);
        json_t *row = json_object(), *samples = json_array();
        for (int r = 0; r < reps; r++) json_array_append_new(samples, json_real(cfg[i].ts[r]));
        json_object_set_new(row, "config", json_string(cfg[i].label));
        json_object_set_new(row, "weights", json_string(cfg[i].m->fmt_note));
        json_object_set_new(row, "lm_head", json_string(cfg[i].head_note));
        json_object_set_new(row, "model_copy", json_integer(cfg[i].owner + 1));
        json_object_set_new(row, "gemv_kernel", json_string(cfg[i].kernel ? cfg[i].kernel : "auto"));
        json_object_set_new(row, "pages", json_string(cfg[cfg[i].owner].exact ? "exact" : "whole"));
        json_object_set_new(row, "fusion", json_string(cfg[cfg[i].owner].m->fuse_note));
        json_object_set_new(row, "wisdom", json_string(cfg[i].profile >= 0 ? pn[cfg[i].profile] : start_src));
        json_object_set_new(row, "mb_per_token",
                            json_real((cfg[i].m->bytes_ternary + cfg[i].m->bytes_head + cfg[i].m->bytes_other) / 1e6));
        json_object_set_new(row, "threads", json_integer(th));
        json_object_set_new(row, "n_gen", json_integer(n_gen));
        json_object_set_new(row, "tokens_per_s", samples);
        json_object_set_new(row, "median_tokens_per_s", json_real(med));
        json_object_set_new(row, "median_ratio_to_first", json_real(rmed));
        json_array_append_new(rows, row);
        free(tmp), free(ratio);
    }
    if (!rc && json_path && json_dump_file(rows, json_path, JSON_INDENT(2))) {
        fprintf(stderr, "tritune bench-ab: cannot write %s\n", json_path);
        rc = 1;
    }
    json_decref(rows);
    for (int i = 0; i < nc; i++) {
        if (cfg[i].owner == i) tt_model_close(cfg[i].m);
        free(cfg[i].ts);
    }
    if (have_topo) tt_topo_free(&topo);
    if (np) tt_wisdom_restore(saved_wisdom);
    return rc ? 1 : 0;
}
