/* tt_errctx.h — add context in front of the current error message. tt_fail writes the thread-local buffer that
 * tt_last_error() returns, so passing tt_last_error() to tt_fail would read the buffer while overwriting it;
 * this copies it first. */
#ifndef TT_ERRCTX_H
#define TT_ERRCTX_H

#include "tt_common.h"

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 2, 3))) static inline tt_status tt_fail_prefix(tt_status st, const char *fmt, ...)
{
    char old[512], prefix[256];
    snprintf(old, sizeof old, "%s", tt_last_error());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    return tt_fail(st, "%s: %s", prefix, old);
}

#endif
