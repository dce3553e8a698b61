// PNG encoding through libpng (pictures, overlays, masks) and JPEG encoding through libjpeg
// (the report's embedded thumbnails).
//
// libpng reports fatal errors by longjmp()ing out of its error callback, and libjpeg's default
// handler calls exit(); a longjmp must never cross a Swift frame, so each encode runs inside a C
// function below, which sets its own setjmp() landing point (the same pattern as CImageShim's
// decoders).
#ifndef CPNGWRITE_H
#define CPNGWRITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Encodes an 8-bit image, rows packed top to bottom (width * channels bytes each), as a
// non-interlaced PNG: channels 1 = greyscale, 3 = RGB. On success returns 0 and sets *out to a
// malloc()ed buffer of *out_size bytes that the caller releases with cpw_free(). On failure
// returns nonzero, sets *out to NULL and writes a message into error (error_size bytes).
int cpw_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                   uint8_t **out, size_t *out_size, char *error, size_t error_size);

// Encodes 8-bit RGB, rows packed top to bottom (width * 3 bytes each), as a baseline JPEG of the
// given quality (1-100; libjpeg's defaults: 4:2:0 chroma, plus optimised Huffman tables). Same
// contract as cpw_png_encode.
int cpw_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                    uint8_t **out, size_t *out_size, char *error, size_t error_size);

void cpw_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
