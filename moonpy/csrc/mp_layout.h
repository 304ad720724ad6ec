#ifndef MP_LAYOUT_H
#define MP_LAYOUT_H
#include <stddef.h>

struct mp_field {
    const char *name;
    const char *ctype;
    size_t offset;
    size_t size;
};

const struct mp_field *mp_mbuf_fields(int *n);
size_t mp_mbuf_size(void);
#endif
