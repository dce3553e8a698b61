#include "CImageShim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct cis_jpeg_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

struct cis_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct cis_jpeg_error_mgr err;
    const uint8_t *data;
    size_t size;
    int created;
    int header_read;
    int hit_eof;
    char error[JMSG_LENGTH_MAX + 64];
};

static void cis_jpeg_error_exit(j_common_ptr cinfo) {
    cis_jpeg_decoder *dec = (cis_jpeg_decoder *)cinfo->client_data;
    char message[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, message);
    snprintf(dec->error, sizeof dec->error, "%s", message);
    longjmp(dec->err.jump, 1);
}

static void cis_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0) {
        cis_jpeg_decoder *dec = (cis_jpeg_decoder *)cinfo->client_data;
        // jpeg_mem_src reports running out of data as a warning and pads with a fake EOI.
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) dec->hit_eof = 1;
        cinfo->err->num_warnings++;
    }
    // Trace messages and other warnings are ignored, as Pillow does.
}

static void cis_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

cis_jpeg_decoder *cis_jpeg_new(const uint8_t *data, size_t size) {
    cis_jpeg_decoder *dec = (cis_jpeg_decoder *)calloc(1, sizeof *dec);
    if (dec == NULL) return NULL;
    dec->data = data;
    dec->size = size;
    dec->cinfo.err = jpeg_std_error(&dec->err.pub);
    dec->err.pub.error_exit = cis_jpeg_error_exit;
    dec->err.pub.emit_message = cis_jpeg_emit_message;
    dec->err.pub.output_message = cis_jpeg_output_message;
    dec->cinfo.client_data = dec;
    if (setjmp(dec->err.jump)) {
        if (dec->created) jpeg_destroy_decompress(&dec->cinfo);
        free(dec);
        return NULL;
    }
    jpeg_create_decompress(&dec->cinfo);
    dec->created = 1;
    return dec;
}

void cis_jpeg_free(cis_jpeg_decoder *dec) {
    if (dec == NULL) return;
    if (dec->created) jpeg_destroy_decompress(&dec->cinfo);
    free(dec);
}

const char *cis_jpeg_error(const cis_jpeg_decoder *dec) {
    return dec != NULL ? dec->error : "out of memory";
}

int cis_jpeg_read_header(cis_jpeg_decoder *dec, cis_jpeg_header *header) {
    if (setjmp(dec->err.jump)) {
        return 1;
    }
    if (dec->size == 0) {
        snprintf(dec->error, sizeof dec->error, "empty JPEG data");
        return 1;
    }
    jpeg_mem_src(&dec->cinfo, dec->data, (unsigned long)dec->size);
    jpeg_read_header(&dec->cinfo, TRUE);
    if (dec->hit_eof) {
        snprintf(dec->error, sizeof dec->error, "unexpected end of file in the JPEG header (the data is truncated)");
        return 1;
    }
    memset(header, 0, sizeof *header);
    header->width = dec->cinfo.image_width;
    header->height = dec->cinfo.image_height;
    header->num_components = dec->cinfo.num_components;
    header->color_space = (int)dec->cinfo.jpeg_color_space;
    header->progressive = dec->cinfo.progressive_mode ? 1 : 0;
    dec->header_read = 1;
    return 0;
}

int cis_jpeg_read_rows(cis_jpeg_decoder *dec, int out_color_space, uint8_t *buffer, size_t stride) {
    if (!dec->header_read) {
        snprintf(dec->error, sizeof dec->error, "header not read");
        return 1;
    }
    if (setjmp(dec->err.jump)) {
        return 1;
    }
    dec->cinfo.out_color_space = (J_COLOR_SPACE)out_color_space;
    jpeg_start_decompress(&dec->cinfo);
    while (dec->cinfo.output_scanline < dec->cinfo.output_height) {
        JSAMPROW row = buffer + (size_t)dec->cinfo.output_scanline * stride;
        if (jpeg_read_scanlines(&dec->cinfo, &row, 1) != 1) {
            snprintf(dec->error, sizeof dec->error, "decoder returned no scanline");
            return 1;
        }
        if (dec->hit_eof) break;
    }
    // Like Pillow, read through to the EOI marker: a file that ends early is an error even
    // when every scanline could be produced (libjpeg would pad the missing data with grey).
    if (!dec->hit_eof) jpeg_finish_decompress(&dec->cinfo);
    if (dec->hit_eof) {
        snprintf(dec->error, sizeof dec->error, "unexpected end of file (the JPEG data is truncated)");
        return 1;
    }
    return 0;
}
