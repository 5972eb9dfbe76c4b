#ifndef PLAYGROUND_H
#define PLAYGROUND_H

#include <stddef.h>

/// One file of Playground/ as compiled in: its bytes, exactly as in the repository.
typedef struct {
    const unsigned char *bytes;
    size_t count;
} mk_playground_file;

mk_playground_file mk_playground_index_html(void);
mk_playground_file mk_playground_app_js(void);
mk_playground_file mk_playground_style_css(void);

#endif
