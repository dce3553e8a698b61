#include "CPNGWrite.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf landing;
    char message[JMSG_LENGTH_MAX];
    // jpeg_mem_dest's output: kept here (in memory whose address is taken) rather than in locals
    // that setjmp could leave stale.
    unsigned char *buffer;
    unsigned long size;
} cpw_jpeg_error;

static void cpw_jpeg_error_exit(j_common_ptr cinfo) {
    cpw_jpeg_error *err = (cpw_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->landing, 1);
}

static void cpw_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

int cpw_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                    uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    *out = NULL;
    *out_size = 0;
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        snprintf(error, error_size, "cannot encode a %ux%u image as JPEG", width, height);
        return 1;
    }
    if (quality < 1 || quality > 100) {
        snprintf(error, error_size, "JPEG quality %d is not in 1...100", quality);
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    cpw_jpeg_error err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = cpw_jpeg_error_exit;
    err.base.output_message = cpw_jpeg_output_message;
    if (setjmp(err.landing)) {
        snprintf(error, error_size, "%s", err.message[0] != '\0' ? err.message : "libjpeg error");
        jpeg_destroy_compress(&cinfo);
        free(err.buffer);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &err.buffer, &err.size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * 3;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = err.buffer;
    *out_size = (size_t)err.size;
    return 0;
}
