// C23's #embed (clang 21 accepts it in C17 mode as an extension): the bytes of the converted
// Silero VAD weights, exactly as in the file.
#pragma clang diagnostic ignored "-Wc23-extensions"
#include "silero_weights.h"

static const unsigned char weights[] = {
#embed "../../Models/silero-vad/silero_vad_16k.safetensors"
};

const unsigned char *mk_silero_vad_safetensors(void) { return weights; }
size_t mk_silero_vad_safetensors_size(void) { return sizeof weights; }
