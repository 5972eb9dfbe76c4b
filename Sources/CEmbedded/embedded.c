// Files compiled into the program with C23's #embed (clang accepts it in C17 mode as an
// extension), exactly as they are in the repository, so the binary needs nothing next to it.
#pragma clang diagnostic ignored "-Wc23-extensions"
#include "embedded.h"

static const unsigned char silero_vad[] = {
#embed "../../Models/silero-vad/silero_vad_16k.safetensors"
};
static const unsigned char index_html[] = {
#embed "../../Playground/index.html"
};
static const unsigned char app_js[] = {
#embed "../../Playground/app.js"
};
static const unsigned char style_css[] = {
#embed "../../Playground/style.css"
};

mk_embedded_file mk_silero_vad_safetensors(void) { return (mk_embedded_file){silero_vad, sizeof silero_vad}; }
mk_embedded_file mk_playground_index_html(void) { return (mk_embedded_file){index_html, sizeof index_html}; }
mk_embedded_file mk_playground_app_js(void) { return (mk_embedded_file){app_js, sizeof app_js}; }
mk_embedded_file mk_playground_style_css(void) { return (mk_embedded_file){style_css, sizeof style_css}; }
