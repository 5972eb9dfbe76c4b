#ifndef SILERO_WEIGHTS_H
#define SILERO_WEIGHTS_H

#include <stddef.h>

/// Models/silero-vad/silero_vad_16k.safetensors, compiled into the program (1.2 MB), so the
/// server needs no file next to its binary to detect speech.
const unsigned char *mk_silero_vad_safetensors(void);
size_t mk_silero_vad_safetensors_size(void);

#endif
