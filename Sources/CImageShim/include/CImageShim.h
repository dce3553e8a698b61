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
// Decodes the next row of a non-interlaced image into row (row_bytes bytes), so that a large
// image can be converted row by row without holding libpng's output whole. 0 on success.
int cis_png_read_row(cis_png_decoder *dec, uint8_t *row);
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


// ---------------------------------------------------------------- TIFF (libtiff 4.5+)
//
// libtiff reports errors through return values and a message handler; the handler here is
// per file (TIFFOpenOptions), so nothing global is touched and warnings are dropped.

typedef struct cis_tiff_decoder cis_tiff_decoder;

typedef struct {
    uint32_t width;
    uint32_t height;
    int bits_per_sample;
    int samples_per_pixel;
    int photometric;          // PHOTOMETRIC_* as stored in the file (0 when absent, as Pillow assumes; -2 unreadable)
    int libtiff_photometric;  // what libtiff made of it (it may substitute one; -1 when none)
    int planar_config;        // 1 contiguous, 2 separate planes
    int sample_format;        // SAMPLEFORMAT_* (1 unsigned, 2 signed, 3 float)
    int compression;          // COMPRESSION_*
    int orientation;          // 1..8 (1 when absent)
    int big_endian;           // byte order of the file (libtiff returns samples in native order)
    int tiled;
    uint32_t tile_width;
    uint32_t tile_length;
    int extra_count;          // ExtraSamples values, at most 8 kept
    int extra[8];
    int has_colormap;
    int64_t scanline_size;    // bytes of one row from cis_tiff_read_scanline()
    int64_t tile_size;        // bytes of one tile from cis_tiff_read_tile()
    int64_t tile_row_size;    // bytes of one row within a tile
} cis_tiff_header;

// Decoder over an in-memory TIFF file (kept alive by the caller until cis_tiff_free()).
// Returns NULL only when memory is exhausted; a file libtiff cannot open fails in read_header.
cis_tiff_decoder *cis_tiff_new(const uint8_t *data, size_t size);
// Decoder reading an open regular file of `size` bytes with pread(), never mapping it, so that
// only the strips or tiles being decoded are in memory. The caller keeps fd open.
cis_tiff_decoder *cis_tiff_new_fd(int fd, size_t size);
void cis_tiff_free(cis_tiff_decoder *dec);
// Opens the first image (IFD) and reads its tags. 0 on success.
int cis_tiff_read_header(cis_tiff_decoder *dec, cis_tiff_header *header);
// The palette (ColorMap) of 1 << bits_per_sample entries, 16 bits per component. 0 on success.
int cis_tiff_colormap(cis_tiff_decoder *dec, uint16_t *red, uint16_t *green, uint16_t *blue, size_t entries);
// Row `row` of sample plane `sample` (0 unless planar) of a stripped image, decompressed,
// samples in native byte order; rows must be read in order within each plane. 0 on success.
int cis_tiff_read_scanline(cis_tiff_decoder *dec, uint8_t *buffer, uint32_t row, int sample);
// The tile containing pixel (x, y) of sample plane `sample`, tile_size bytes. 0 on success.
int cis_tiff_read_tile(cis_tiff_decoder *dec, uint8_t *buffer, uint32_t x, uint32_t y, int sample);
const char *cis_tiff_error(const cis_tiff_decoder *dec);

// ---------------------------------------------------------------- WebP (libwebp, libwebpdemux)

typedef struct {
    int width;          // canvas size
    int height;
    int has_alpha;
    int has_animation;
    int lossless;       // 1 lossless (VP8L), 0 lossy, -1 mixed (animations)
} cis_webp_header;

// Reads the headers. 0 on success; a nonzero libwebp VP8StatusCode otherwise.
int cis_webp_read_header(const uint8_t *data, size_t size, cis_webp_header *header);
// Decodes into width x height RGB (3 bytes per pixel, row stride `stride`), alpha dropped
// without compositing. A still image is decoded directly; an animation's first frame is
// composed by libwebp's animation decoder (what Pillow uses) on its transparent canvas.
// 0 on success.
int cis_webp_decode_rgb(const uint8_t *data, size_t size, uint8_t *buffer, size_t stride, int width, int height);

#ifdef __cplusplus
}
#endif

#endif
