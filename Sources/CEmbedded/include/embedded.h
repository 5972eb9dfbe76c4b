#ifndef EMBEDDED_H
#define EMBEDDED_H

#include <stddef.h>

/// A file compiled into the program: its bytes, exactly as in the repository.
typedef struct {
    const unsigned char *bytes;
    size_t count;
} mk_embedded_file;

/// Models/silero-vad/silero_vad_16k.safetensors (1.2 MB): the VAD needs no file to detect speech.
mk_embedded_file mk_silero_vad_safetensors(void);
/// Playground/: the web playground `serve` answers at /.
mk_embedded_file mk_playground_index_html(void);
mk_embedded_file mk_playground_app_js(void);
mk_embedded_file mk_playground_style_css(void);

#endif
