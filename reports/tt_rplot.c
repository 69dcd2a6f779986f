/* gnuplot driver: scripts on disk, gnuplot spawned by name through PATH. */
#include "tt_rplot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

bool tt_gnuplot_find(char *path, size_t len, char *why, size_t why_len)
{
    const char *p = getenv("PATH");
    if (!p || !*p) {
        snprintf(why, why_len, "PATH is empty");
        return false;
    }
    while (*p) {
        const char *c = strchr(p, ':');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char cand[1024];
        snprintf(cand, sizeof cand, "%.*s/gnuplot", (int)(n ? n : 1), n ? p : ".");
        if (!access(cand, X_OK)) {
            snprintf(path, len, "%s", cand);
            return true;
        }
        p += n + (c != NULL);
    }
    snprintf(why, why_len, "no executable 'gnuplot' in any PATH folder (PATH=%s)", getenv("PATH"));
    return false;
}

const char *tt_plot_str(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    for (; *s && n + 3 < len; s++) {
        if (*s == '\n') { /* a line break in a double-quoted gnuplot string (multi-line titles) */
            buf[n++] = '\\', buf[n++] = 'n';
            continue;
        }
        if (*s == '"' || *s == '\\') buf[n++] = '\\';
        buf[n++] = *s;
    }
    buf[n] = 0;
    return buf;
}

FILE *tt_plot_begin(const char *dir, const char *name, const char *title, int width, int height)
{
    char path[1200], t[512];
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    FILE *gp = fopen(path, "w");
    if (!gp) {
        tt_fail(TT_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(gp, "# %s.gp — written by `tritune report`; run `gnuplot %s.gp` in this folder to redraw.\n", name, name);
    fprintf(gp, "W = %d\nH = %d\n", width, height);
    fprintf(gp, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                "    set terminal pngcairo size W,H noenhanced font \"Sans,12\" background rgb \"white\"\n"
                "} else {\n"
                "    set terminal png size W,H noenhanced\n"
                "}\n");
    fprintf(gp, "set output '%s.png'\nset datafile missing '?'\nset datafile separator '\\t'\n", name);
    fprintf(gp, "set title \"%s\" font \",14\"\n", tt_plot_str(title, t, sizeof t));
    fprintf(gp, "set grid ytics lc rgb '#dddddd'\nset border lc rgb '#444444'\n");
    return gp;
}

tt_status tt_plot_end(FILE *gp, const char *dir, const char *name)
{
    fprintf(gp, "set terminal svg size W,H dynamic noenhanced font \"Sans,12\" background rgb \"white\"\n"
                "set output '%s.svg'\nreplot\nset output\n",
            name);
    if (fclose(gp)) return tt_fail(TT_ERR_IO, "writing %s/%s.gp failed", dir, name);
    return TT_OK;
}

static bool nonempty(const char *path)
{
    struct stat st;
    return !stat(path, &st) && st.st_size > 0;
}

tt_status tt_plot_draw(const char *dir, const char *name)
{
    char exe[1024], why[1200];
    if (!tt_gnuplot_find(exe, sizeof exe, why, sizeof why)) return tt_fail(TT_ERR_UNSUPPORTED, "%s", why);
    char cd[1200], script[300], log[1200];
    char esc[1100];
    snprintf(cd, sizeof cd, "cd \"%s\"", tt_plot_str(dir, esc, sizeof esc));
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(log, sizeof log, "%s/gnuplot.log", dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    char *argv[] = {exe, "-e", cd, script, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return tt_fail(TT_ERR_UNSUPPORTED, "cannot start %s: %s", exe, strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return tt_fail(TT_ERR_IO, "waitpid gnuplot: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        return tt_fail(TT_ERR_IO, "gnuplot failed on %s/%s.gp (exit %d); see %s", dir, name,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
    char out[1200];
    for (int i = 0; i < 2; i++) {
        snprintf(out, sizeof out, "%s/%s.%s", dir, name, i ? "svg" : "png");
        if (!nonempty(out)) return tt_fail(TT_ERR_IO, "gnuplot wrote no %s (see %s)", out, log);
    }
    return TT_OK;
}
