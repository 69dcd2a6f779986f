/* chat.h — chat formats of instruct models: which one a GGUF file asks for (tokenizer.chat_template), and the text
 * of one message in it. The text carries the special-token markup (<|start_header_id|>, <|eot_id|>), so it must be
 * encoded with TT_TOK_PARSE_SPECIAL; BOS comes from the tokenizer (add_bos_token), as in llama.cpp. */
#ifndef TT_CHAT_H
#define TT_CHAT_H

#include "gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_chat_format {
    TT_CHAT_LLAMA3, /* <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> */
    TT_CHAT_BITNET, /* BitNet b1.58 2B4T's: "Role: CONTENT<|eot_id|>", the reply opened by "Assistant: " */
} tt_chat_format;

/* The format a file's tokenizer.chat_template names, as llama.cpp's template detection tells them apart (header
 * tokens: Llama 3; "User: " and "Assistant: ": BitNet); Llama 3 when the file has no template or another one. why
 * (optional) gets a one-line reason for logs. */
tt_chat_format tt_chat_format_of(const tt_gguf *g, const char **why);

/* One message: role ("system", "user", "assistant") and content with surrounding whitespace trimmed (as llama.cpp's
 * template code does), then with open_assistant the header that opens the assistant's reply. malloc'd. */
char *tt_chat_render(tt_chat_format f, const char *role, const char *content, bool open_assistant);

#ifdef __cplusplus
}
#endif
#endif
