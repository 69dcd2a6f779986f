/* tokenizer.h — byte-level BPE that tokenizes as llama.cpp's llama_tokenize does for vocab type BPE with the
 * llama-bpe (Llama 3) pre-tokenizer: special-token partition, llama.cpp's UTF-8 decoding, the Llama 3 split regex
 * (PCRE2), ignore_merges, merges by rank. Read from GGUF metadata (tokenizer.ggml.tokens / token_type / merges /
 * bos / eos / eot). The exact rules and where they come from are in tokenizer.c's header comment. */
#ifndef TT_TOKENIZER_H
#define TT_TOKENIZER_H

#include "gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_tokenizer tt_tokenizer;

/* Token types as GGUF's tokenizer.ggml.token_type stores them (llama.cpp's LLAMA_TOKEN_TYPE_*). */
enum { TT_TOKTYPE_NORMAL = 1, TT_TOKTYPE_UNKNOWN = 2, TT_TOKTYPE_CONTROL = 3, TT_TOKTYPE_USER_DEFINED = 4 };

/* Flags of tt_tokenizer_encode_ex. PARSE_SPECIAL: control and unknown tokens written in the text become their
 * ids (user-defined tokens always do). */
enum { TT_TOK_ADD_BOS = 1, TT_TOK_PARSE_SPECIAL = 2 };

/* Build from explicit tables (strings are copied). types may be NULL (all normal); bos/eos may be -1. */
tt_status tt_tokenizer_build(const char *const *tokens, const size_t *lens, const int32_t *types, int n_tokens,
                             const char *const *merges, int n_merges, int bos, int eos, tt_tokenizer **out);
/* Build from tokenizer.ggml.* metadata (model "gpt2" only). */
tt_status tt_tokenizer_open(const tt_gguf *g, tt_tokenizer **out);
void tt_tokenizer_free(tt_tokenizer *t);

int tt_tokenizer_n_vocab(const tt_tokenizer *t);
int tt_tokenizer_bos(const tt_tokenizer *t);
int tt_tokenizer_eos(const tt_tokenizer *t);
/* tokenizer.ggml.eot_token_id if the file has it, else the id of "<|eot_id|>" if present, else -1. */
int tt_tokenizer_eot(const tt_tokenizer *t);
/* End of generation: the eos, eot and (if the vocabulary has it) "<|eom_id|>" tokens. */
bool tt_tokenizer_is_eog(const tt_tokenizer *t, int id);
/* Id of the vocabulary entry whose stored text is exactly token_text (byte-level form for normal tokens,
 * e.g. "Ġthe"; plain text for special ones, e.g. "<|eot_id|>"), or -1. On duplicates the highest id wins, as in
 * llama.cpp's token_to_id. */
int tt_tokenizer_find(const tt_tokenizer *t, const char *token_text);
/* Stored text of token id (as in tokenizer.ggml.tokens, not decoded) and its type; NULL / 0 if out of range. */
const char *tt_tokenizer_token_text(const tt_tokenizer *t, int id, size_t *len);
int tt_tokenizer_token_type(const tt_tokenizer *t, int id);

/* Encode len bytes of text (any bytes: invalid UTF-8 is handled as llama.cpp does); *ids is malloc'd (caller
 * frees; NULL when *n is 0), *n its length. Never fails on any input when all 256 byte tokens exist. */
tt_status tt_tokenizer_encode_ex(const tt_tokenizer *t, const char *text, size_t len, unsigned flags, int **ids,
                                 int *n);
/* Same as tt_tokenizer_encode_ex with TT_TOK_ADD_BOS if add_bos, without TT_TOK_PARSE_SPECIAL. */
tt_status tt_tokenizer_encode(const tt_tokenizer *t, const char *text, size_t len, bool add_bos, int **ids, int *n);

/* Bytes of one token (control tokens decode to nothing). Writes up to cap bytes, returns the full length. */
size_t tt_tokenizer_decode(const tt_tokenizer *t, int id, char *buf, size_t cap);

/* GPT-2 byte-to-unicode: the UTF-8 of the code point standing for byte b (1 or 2 bytes), returns its length. */
int tt_bpe_byte_to_utf8(uint8_t b, char out[4]);

#ifdef __cplusplus
}
#endif
#endif
