/* tokenizer.h — byte-level BPE (GPT-2 byte-to-unicode mapping, merges applied by rank), read from GGUF metadata
 * (tokenizer.ggml.tokens / token_type / merges / bos / eos). Pre-tokenization is a hand-written approximation of
 * the llama-bpe (Llama 3) split regex; what it simplifies is listed in tokenizer.c. */
#ifndef TT_TOKENIZER_H
#define TT_TOKENIZER_H

#include "gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_tokenizer tt_tokenizer;

/* Build from explicit tables (strings are copied). types may be NULL (all normal); bos/eos may be -1. */
tt_status tt_tokenizer_build(const char *const *tokens, const size_t *lens, const int32_t *types, int n_tokens,
                             const char *const *merges, int n_merges, int bos, int eos, tt_tokenizer **out);
/* Build from tokenizer.ggml.* metadata (model "gpt2" only). */
tt_status tt_tokenizer_open(const tt_gguf *g, tt_tokenizer **out);
void tt_tokenizer_free(tt_tokenizer *t);

int tt_tokenizer_n_vocab(const tt_tokenizer *t);
int tt_tokenizer_bos(const tt_tokenizer *t);
int tt_tokenizer_eos(const tt_tokenizer *t);

/* Encode len bytes of text; *ids is malloc'd (caller frees), *n its length. Never fails on any input bytes
 * when all 256 byte tokens exist. */
tt_status tt_tokenizer_encode(const tt_tokenizer *t, const char *text, size_t len, bool add_bos, int **ids, int *n);

/* Bytes of one token (control tokens decode to nothing). Writes up to cap bytes, returns the full length. */
size_t tt_tokenizer_decode(const tt_tokenizer *t, int id, char *buf, size_t cap);

/* GPT-2 byte-to-unicode: the UTF-8 of the code point standing for byte b (1 or 2 bytes), returns its length. */
int tt_bpe_byte_to_utf8(uint8_t b, char out[4]);

#ifdef __cplusplus
}
#endif
#endif
