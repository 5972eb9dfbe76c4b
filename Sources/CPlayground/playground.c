// The web playground's three files, compiled into the program with C23's #embed (as the Silero
// weights are), so `serve` needs nothing next to its binary to serve it.
#pragma clang diagnostic ignored "-Wc23-extensions"
#include "playground.h"

static const unsigned char index_html[] = {
#embed "../../Playground/index.html"
};
static const unsigned char app_js[] = {
#embed "../../Playground/app.js"
};
static const unsigned char style_css[] = {
#embed "../../Playground/style.css"
};

mk_playground_file mk_playground_index_html(void) { return (mk_playground_file){index_html, sizeof index_html}; }
mk_playground_file mk_playground_app_js(void) { return (mk_playground_file){app_js, sizeof app_js}; }
mk_playground_file mk_playground_style_css(void) { return (mk_playground_file){style_css, sizeof style_css}; }
