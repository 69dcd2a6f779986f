#include "tt_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tt_arg_value(int argc, char **argv, int *i, const char *flag)
{
    size_t n = strlen(flag);
    if (!strcmp(argv[*i], flag)) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "tritune: %s needs a value\n", flag);
            exit(2);
        }
        return argv[++*i];
    }
    if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') return argv[*i] + n + 1;
    return NULL;
}

bool tt_has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], flag)) return true;
    return false;
}

bool tt_parse_shape(const char *s, int *m, int *k)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) return false;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || a < 1 || b < 1 || a > (1 << 24) || b > (1 << 20)) return false;
    *m = (int)a;
    *k = (int)b;
    return true;
}

int tt_parse_int_list(const char *s, int *out, int max)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || n == max) return 0;
        out[n++] = (int)v;
        if (*end == ',') end++;
        else if (*end) return 0;
        p = end;
    }
    return n;
}

static bool glob(const char *p, const char *s)
{
    if (!*p) return !*s;
    if (*p == '*') return glob(p + 1, s) || (*s && glob(p, s + 1));
    return *s && *p == *s && glob(p + 1, s + 1);
}

static bool match_one(const char *pattern, const char *name)
{
    if (!strchr(pattern, '*')) return strstr(name, pattern) != NULL;
    return glob(pattern, name);
}

bool tt_match(const char *pattern, const char *name)
{
    if (!pattern || !*pattern) return true;
    if (!strchr(pattern, ',')) return match_one(pattern, name);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", pattern);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (*p && match_one(p, name)) return true;
    return false;
}
