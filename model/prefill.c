/* prefill.c — tt_model_prefill: the prompt in chunks of m->batch tokens through forward.c's layer (one GEMM per
 * linear layer and chunk: the weights stream from memory once per chunk instead of once per token). Every
 * per-token float operation is that of tt_model_forward, so the cache and the logits are bit-identical to decoding
 * the prompt token by token. */
#include "model_int.h"
#include "tt_errctx.h"

tt_status tt_model_prefill(tt_model *m, const int *tokens, int n, int pos0, bool want_logits)
{
    if (!m || (!tokens && n > 0)) return tt_fail(TT_ERR_NULL, "tt_model_prefill: NULL argument");
    const tt_model_config *c = &m->config;
    if (n < 1) return tt_fail(TT_ERR_VALUE, "prefill of %d tokens", n);
    if (pos0 < 0 || pos0 > m->n_ctx - n)
        return tt_fail(TT_ERR_VALUE, "positions %d..%d outside the context of %d", pos0, pos0 + n - 1, m->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return tt_fail(TT_ERR_VALUE, "token %d outside the vocabulary of %d", tokens[i], c->vocab_size);
    if (m->batch <= 1) { /* no GEMM kernel, or asked for: token by token */
        for (int i = 0; i < n; i++) {
            tt_status st = tt_model_forward(m, tokens[i], pos0 + i, want_logits && i == n - 1);
            if (st) return st;
        }
        return TT_OK;
    }
    tt_status st = model_state_reserve(m, n < m->batch ? n : m->batch);
    if (st) return st;
    int last = 0;
    for (int i = 0; i < n; i += m->batch) {
        last = n - i < m->batch ? n - i : m->batch;
        model_step(m, tokens + i, last, pos0 + i, false);
    }
    if (want_logits) model_head_logits(m, m->s.x + (size_t)(last - 1) * c->dim, false);
    return TT_OK;
}
