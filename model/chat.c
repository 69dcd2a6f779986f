/* chat.c — see chat.h. */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tt_chat_format tt_chat_format_of(const tt_gguf *g, const char **why)
{
    const char *t, *own;
    size_t n;
    if (!why) why = &own;
    if (!g || tt_gguf_get_str(g, "tokenizer.chat_template", &t, &n)) {
        *why = "no tokenizer.chat_template in the file: the built-in Llama 3 format";
        return TT_CHAT_LLAMA3;
    }
    if (memmem(t, n, "<|start_header_id|>", 19)) {
        *why = "tokenizer.chat_template is a Llama 3 template";
        return TT_CHAT_LLAMA3;
    }
    if (memmem(t, n, "Assistant: ", 11) && memmem(t, n, "User: ", 6)) {
        *why = "tokenizer.chat_template is BitNet b1.58 2B4T's (User: / Assistant:)";
        return TT_CHAT_BITNET;
    }
    *why = "tokenizer.chat_template is not a format tritune knows: the built-in Llama 3 format";
    return TT_CHAT_LLAMA3;
}

char *tt_chat_render(tt_chat_format f, const char *role, const char *content, bool open_assistant)
{
    if (!role || !*role || !content) return NULL;
    while (*content && strchr(" \t\n\r", *content)) content++;
    size_t len = strlen(content);
    while (len && strchr(" \t\n\r", content[len - 1])) len--;
    size_t cap = len + strlen(role) + 128;
    char *out = malloc(cap);
    if (!out) return NULL;
    int k;
    if (f == TT_CHAT_LLAMA3)
        k = snprintf(out, cap, "<|start_header_id|>%s<|end_header_id|>\n\n%.*s<|eot_id|>%s", role, (int)len, content,
                     open_assistant ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "");
    else /* "System: ", "User: ", "Assistant: " */
        k = snprintf(out, cap, "%c%s: %.*s<|eot_id|>%s", role[0] >= 'a' && role[0] <= 'z' ? role[0] - 32 : role[0],
                     role + 1, (int)len, content, open_assistant ? "Assistant: " : "");
    if (k < 0 || (size_t)k >= cap) {
        free(out);
        return NULL;
    }
    return out;
}
