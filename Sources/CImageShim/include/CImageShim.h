// Thin C wrappers around libpng and libjpeg-turbo for WinCLIP's image loader.
//
// Both libraries report fatal errors by longjmp()ing out of their error callbacks. A longjmp
// must never cross a Swift frame, so every library call that can fail runs inside one of the
// functions below, each of which establishes its own setjmp() landing point in C. On failure
// they return a nonzero status and leave a message readable with cis_*_error(); nothing is
// ever printed and the process is never aborted.
#ifndef CIMAGESHIM_H
#define CIMAGESHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- PNG (libpng 1.6)

typedef struct cis_png_decoder cis_png_decoder;

typedef struct {
    uint32_t width;
    uint32_t height;
    int bit_depth;      // 1, 2, 4, 8 or 16 as stored in the file
    int color_type;     // PNG_COLOR_TYPE_* (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA)
    int interlaced;     // 1 for Adam7
    int channels;       // samples per pixel in the rows cis_png_read_rows() produces
    size_t row_bytes;   // bytes per row produced by cis_png_read_rows()
    int num_palette;    // entries in PLTE (0 when absent)
    uint8_t palette[256 * 3];
} cis_png_header;

// Decoder over an in-memory PNG file; the bytes must stay alive until cis_png_free().
// Returns NULL only when memory is exhausted.
cis_png_decoder *cis_png_new(const uint8_t *data, size_t size);
void cis_png_free(cis_png_decoder *dec);
// Reads the signature and every chunk up to the first IDAT. Sub-byte samples are unpacked to
// one byte each (values unscaled); 16-bit samples stay big-endian. 0 on success.
int cis_png_read_header(cis_png_decoder *dec, cis_png_header *header);
// Decodes all rows (all Adam7 passes when interlaced) into buffer, row y at buffer + y * stride.
// 0 on success; nonzero when the data is truncated or corrupt.
int cis_png_read_rows(cis_png_decoder *dec, uint8_t *buffer, size_t stride);
// Last error message (empty when none); owned by the decoder.
const char *cis_png_error(const cis_png_decoder *dec);

// ---------------------------------------------------------------- JPEG (libjpeg-turbo)

typedef struct cis_jpeg_decoder cis_jpeg_decoder;

typedef struct {
    uint32_t width;
    uint32_t height;
    int num_components;   // components in the file
    int color_space;      // J_COLOR_SPACE of the file (JCS_GRAYSCALE, JCS_YCbCr, JCS_RGB, JCS_CMYK, ...)
    int progressive;
} cis_jpeg_header;

cis_jpeg_decoder *cis_jpeg_new(const uint8_t *data, size_t size);
void cis_jpeg_free(cis_jpeg_decoder *dec);
int cis_jpeg_read_header(cis_jpeg_decoder *dec, cis_jpeg_header *header);
// Decodes to out_color_space (JCS_RGB: 3 bytes per pixel, JCS_GRAYSCALE: 1 byte per pixel)
// with libjpeg's defaults (islow IDCT, fancy upsampling). Fails, rather than padding the image
// with grey as libjpeg would, when the data ends before the image is complete.
int cis_jpeg_read_rows(cis_jpeg_decoder *dec, int out_color_space, uint8_t *buffer, size_t stride);
const char *cis_jpeg_error(const cis_jpeg_decoder *dec);

#ifdef __cplusplus
}
#endif

#endif
