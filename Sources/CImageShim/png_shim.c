#include "CImageShim.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cis_png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    int header_read;
    char error[256];
};

static void cis_png_error_fn(png_structp png, png_const_charp message) {
    cis_png_decoder *dec = (cis_png_decoder *)png_get_error_ptr(png);
    if (dec != NULL) {
        snprintf(dec->error, sizeof dec->error, "%s", message != NULL ? message : "libpng error");
    }
    png_longjmp(png, 1);
}

static void cis_png_warning_fn(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;  // warnings (bad ancillary chunks and the like) are ignored, as Pillow does
}

static void cis_png_read_fn(png_structp png, png_bytep out, size_t length) {
    cis_png_decoder *dec = (cis_png_decoder *)png_get_io_ptr(png);
    if (length > dec->size - dec->offset) {
        png_error(png, "unexpected end of file (the PNG data is truncated)");
    }
    memcpy(out, dec->data + dec->offset, length);
    dec->offset += length;
}

cis_png_decoder *cis_png_new(const uint8_t *data, size_t size) {
    cis_png_decoder *dec = (cis_png_decoder *)calloc(1, sizeof *dec);
    if (dec == NULL) return NULL;
    dec->data = data;
    dec->size = size;
    dec->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, dec, cis_png_error_fn, cis_png_warning_fn);
    if (dec->png == NULL) {
        free(dec);
        return NULL;
    }
    dec->info = png_create_info_struct(dec->png);
    if (dec->info == NULL) {
        png_destroy_read_struct(&dec->png, NULL, NULL);
        free(dec);
        return NULL;
    }
    png_set_read_fn(dec->png, dec, cis_png_read_fn);
    // The caller's pixel-count limit is the size check; lift libpng's 1e6-per-side default.
    png_set_user_limits(dec->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    return dec;
}

void cis_png_free(cis_png_decoder *dec) {
    if (dec == NULL) return;
    png_destroy_read_struct(&dec->png, &dec->info, NULL);
    free(dec);
}

const char *cis_png_error(const cis_png_decoder *dec) {
    return dec != NULL ? dec->error : "out of memory";
}

int cis_png_read_header(cis_png_decoder *dec, cis_png_header *header) {
    png_structp png = dec->png;
    png_infop info = dec->info;
    if (setjmp(png_jmpbuf(png))) {
        return 1;
    }
    // A CRC mismatch in any chunk is fatal (Pillow rejects bad checksums before the image
    // data too). Ancillary chunks are otherwise not needed for Pillow's convert("RGB"), which
    // ignores gAMA, iCCP, sBIT, tRNS and the rest, so they are skipped unparsed rather than
    // letting a malformed one fail or alter the decode.
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    static const png_byte ignored[] =
        "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0"
        "tEXt\0tIME\0tRNS\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    png_read_info(png, info);

    int bit_depth = png_get_bit_depth(png, info);
    int color_type = png_get_color_type(png, info);
    int interlace = png_get_interlace_type(png, info);
    if (bit_depth < 8) png_set_packing(png);   // one byte per sample, values unscaled
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);

    memset(header, 0, sizeof *header);
    header->width = png_get_image_width(png, info);
    header->height = png_get_image_height(png, info);
    header->bit_depth = bit_depth;
    header->color_type = color_type;
    header->interlaced = interlace != PNG_INTERLACE_NONE;
    header->channels = png_get_channels(png, info);
    header->row_bytes = png_get_rowbytes(png, info);
    png_colorp palette = NULL;
    int num_palette = 0;
    if (png_get_PLTE(png, info, &palette, &num_palette) & PNG_INFO_PLTE) {
        if (num_palette > 256) num_palette = 256;
        for (int i = 0; i < num_palette; i++) {
            header->palette[3 * i + 0] = palette[i].red;
            header->palette[3 * i + 1] = palette[i].green;
            header->palette[3 * i + 2] = palette[i].blue;
        }
        header->num_palette = num_palette;
    }
    dec->header_read = 1;
    return 0;
}

int cis_png_read_rows(cis_png_decoder *dec, uint8_t *buffer, size_t stride) {
    if (!dec->header_read) {
        snprintf(dec->error, sizeof dec->error, "header not read");
        return 1;
    }
    png_structp png = dec->png;
    png_infop info = dec->info;
    uint32_t height = png_get_image_height(png, info);
    png_bytepp rows = (png_bytepp)malloc((height > 0 ? height : 1) * sizeof(png_bytep));
    if (rows == NULL) {
        snprintf(dec->error, sizeof dec->error, "out of memory");
        return 1;
    }
    for (uint32_t y = 0; y < height; y++) rows[y] = buffer + (size_t)y * stride;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        return 1;
    }
    // All passes of an interlaced image; rows must start zeroed (the caller's buffer is).
    png_read_image(png, rows);
    // Like Pillow, nothing after the image data (trailing chunks, IEND) is required.
    free(rows);
    return 0;
}

int cis_png_read_row(cis_png_decoder *dec, uint8_t *row) {
    if (!dec->header_read) {
        snprintf(dec->error, sizeof dec->error, "header not read");
        return 1;
    }
    if (png_get_interlace_type(dec->png, dec->info) != PNG_INTERLACE_NONE) {
        snprintf(dec->error, sizeof dec->error, "row-by-row reading needs a non-interlaced image");
        return 1;
    }
    if (setjmp(png_jmpbuf(dec->png))) {
        return 1;
    }
    png_read_row(dec->png, row, NULL);
    return 0;
}
