#include "CPNGWrite.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Growing in-memory output and the error text, reached through libpng's io and error pointers.
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    char error[256];
} cpw_state;

static void cpw_error_fn(png_structp png, png_const_charp message) {
    cpw_state *state = (cpw_state *)png_get_error_ptr(png);
    snprintf(state->error, sizeof state->error, "%s", message != NULL ? message : "libpng error");
    png_longjmp(png, 1);
}

static void cpw_warning_fn(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void cpw_write_fn(png_structp png, png_bytep bytes, size_t length) {
    cpw_state *state = (cpw_state *)png_get_io_ptr(png);
    if (length > state->capacity - state->size) {
        size_t capacity = state->capacity > 0 ? state->capacity : 4096;
        while (length > capacity - state->size) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(state->data, capacity);
        if (grown == NULL) {
            png_error(png, "out of memory");
        }
        state->data = grown;
        state->capacity = capacity;
    }
    memcpy(state->data + state->size, bytes, length);
    state->size += length;
}

static void cpw_flush_fn(png_structp png) { (void)png; }

int cpw_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                   uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    *out = NULL;
    *out_size = 0;
    if (channels != 1 && channels != 3) {
        snprintf(error, error_size, "unsupported channel count %d (1 or 3)", channels);
        return 1;
    }
    if (width == 0 || height == 0) {
        snprintf(error, error_size, "empty image %ux%u", width, height);
        return 1;
    }

    // Everything the landing point needs after a longjmp lives in memory, not in locals that
    // setjmp could leave stale (hence volatile for the row table).
    cpw_state state;
    memset(&state, 0, sizeof state);
    png_bytep *volatile rows = NULL;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, cpw_error_fn, cpw_warning_fn);
    if (png == NULL) {
        snprintf(error, error_size, "out of memory");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        snprintf(error, error_size, "out of memory");
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        snprintf(error, error_size, "%s", state.error[0] != '\0' ? state.error : "libpng error");
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(state.data);
        return 1;
    }

    rows = (png_bytep *)malloc((size_t)height * sizeof(png_bytep));
    if (rows == NULL) png_error(png, "out of memory");
    size_t stride = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * stride);

    png_set_write_fn(png, &state, cpw_write_fn, cpw_flush_fn);
    png_set_IHDR(png, info, width, height, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);

    png_destroy_write_struct(&png, &info);
    free(rows);
    *out = state.data;
    *out_size = state.size;
    return 0;
}

void cpw_free(void *buffer) { free(buffer); }
