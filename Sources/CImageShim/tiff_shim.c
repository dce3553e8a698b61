#include "CImageShim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

struct cis_tiff_decoder {
    const uint8_t *data;  // the file in memory, or NULL when read from fd
    int fd;
    size_t size;
    toff_t offset;
    TIFF *tiff;
    char error[512];
};

// ---- client procs over the caller's bytes (read-only)

// Up to `length` bytes at `offset` (fewer at the end of the file); -1 on a read error.
static int64_t cis_tiff_read_at(cis_tiff_decoder *dec, uint64_t offset, void *buffer, size_t length) {
    if (offset >= dec->size) return 0;
    size_t available = dec->size - (size_t)offset;
    size_t n = length < available ? length : available;
    if (dec->data != NULL) {
        memcpy(buffer, dec->data + offset, n);
        return (int64_t)n;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(dec->fd, (uint8_t *)buffer + done, n - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) break;  // the file shrank since fstat
        done += (size_t)got;
    }
    return (int64_t)done;
}

static tmsize_t cis_tiff_read_proc(thandle_t handle, void *buffer, tmsize_t size) {
    cis_tiff_decoder *dec = (cis_tiff_decoder *)handle;
    if (size <= 0) return 0;
    int64_t n = cis_tiff_read_at(dec, dec->offset, buffer, (size_t)size);
    if (n < 0) return -1;
    dec->offset += (toff_t)n;
    return (tmsize_t)n;
}

static tmsize_t cis_tiff_write_proc(thandle_t handle, void *buffer, tmsize_t size) {
    (void)handle; (void)buffer; (void)size;
    return -1;
}

static toff_t cis_tiff_seek_proc(thandle_t handle, toff_t offset, int whence) {
    cis_tiff_decoder *dec = (cis_tiff_decoder *)handle;
    toff_t base = whence == SEEK_CUR ? dec->offset : whence == SEEK_END ? (toff_t)dec->size : 0;
    // Offsets past the end are allowed (reads there return nothing); overflow is not.
    if (offset > UINT64_MAX - base) return (toff_t)-1;
    dec->offset = base + offset;
    return dec->offset;
}

static int cis_tiff_close_proc(thandle_t handle) { (void)handle; return 0; }

static toff_t cis_tiff_size_proc(thandle_t handle) { return (toff_t)((cis_tiff_decoder *)handle)->size; }

// "Mapping" hands libtiff in-memory bytes directly, so raw strips are not copied. A file read
// through its descriptor is never mapped (a file truncated while mapped would fault).
static int cis_tiff_map_proc(thandle_t handle, void **base, toff_t *size) {
    cis_tiff_decoder *dec = (cis_tiff_decoder *)handle;
    if (dec->data == NULL) return 0;
    *base = (void *)dec->data;
    *size = (toff_t)dec->size;
    return 1;
}

static void cis_tiff_unmap_proc(thandle_t handle, void *base, toff_t size) { (void)handle; (void)base; (void)size; }

static int cis_tiff_error_handler(TIFF *tiff, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tiff;
    cis_tiff_decoder *dec = (cis_tiff_decoder *)user;
    // Keep the first error: later ones are usually consequences of it.
    if (dec != NULL && dec->error[0] == '\0') {
        char message[400];
        vsnprintf(message, sizeof message, fmt, ap);
        if (module != NULL && module[0] != '\0') {
            snprintf(dec->error, sizeof dec->error, "%s: %s", module, message);
        } else {
            snprintf(dec->error, sizeof dec->error, "%s", message);
        }
    }
    return 1;  // handled: nothing reaches libtiff's global (stderr) handler
}

static int cis_tiff_warning_handler(TIFF *tiff, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tiff; (void)user; (void)module; (void)fmt; (void)ap;
    return 1;  // warnings (unknown tags and the like) are ignored, as Pillow ignores them
}

// The PhotometricInterpretation of the first IFD as stored: -1 when absent, -2 when the IFD
// cannot be walked. libtiff replaces a palette image's photometric when its ColorMap cannot be
// read (and guesses one when it is absent), where Pillow refuses or assumes min-is-white.
static int cis_tiff_stored_photometric(cis_tiff_decoder *dec) {
    uint8_t h[16];
    if (cis_tiff_read_at(dec, 0, h, 16) < 8) return -2;
    int big = h[0] == 'M';
    #define U16(d, p) (big ? (uint32_t)(d)[p] << 8 | (d)[(p) + 1] : (uint32_t)(d)[(p) + 1] << 8 | (d)[p])
    #define U32(d, p) (big ? (uint32_t)(d)[p] << 24 | (uint32_t)(d)[(p) + 1] << 16 | (uint32_t)(d)[(p) + 2] << 8 | (d)[(p) + 3] \
                           : (uint32_t)(d)[(p) + 3] << 24 | (uint32_t)(d)[(p) + 2] << 16 | (uint32_t)(d)[(p) + 1] << 8 | (d)[p])
    #define U64(d, p) (big ? (uint64_t)U32(d, p) << 32 | U32(d, (p) + 4) : (uint64_t)U32(d, (p) + 4) << 32 | U32(d, p))
    int bigtiff = U16(h, 2) == 43;
    uint64_t ifd = bigtiff ? U64(h, 8) : U32(h, 4);
    uint8_t c[8];
    size_t count_bytes = bigtiff ? 8 : 2, entry_bytes = bigtiff ? 20 : 12;
    if (cis_tiff_read_at(dec, ifd, c, count_bytes) != (int64_t)count_bytes) return -2;
    uint64_t count = bigtiff ? U64(c, 0) : U16(c, 0);
    for (uint64_t i = 0; i < count && i < 65536; i++) {
        uint8_t e[20];
        if (cis_tiff_read_at(dec, ifd + count_bytes + i * entry_bytes, e, entry_bytes) != (int64_t)entry_bytes) return -2;
        if (U16(e, 0) == TIFFTAG_PHOTOMETRIC) {
            uint32_t type = U16(e, 2);
            size_t value = bigtiff ? 12 : 8;
            if (type == TIFF_SHORT) return (int)U16(e, value);
            if (type == TIFF_LONG) return (int)U32(e, value);
            return -2;
        }
    }
    return -1;
    #undef U16
    #undef U32
    #undef U64
}

cis_tiff_decoder *cis_tiff_new(const uint8_t *data, size_t size) {
    cis_tiff_decoder *dec = (cis_tiff_decoder *)calloc(1, sizeof *dec);
    if (dec == NULL) return NULL;
    dec->data = data;
    dec->fd = -1;
    dec->size = size;
    return dec;
}

cis_tiff_decoder *cis_tiff_new_fd(int fd, size_t size) {
    cis_tiff_decoder *dec = (cis_tiff_decoder *)calloc(1, sizeof *dec);
    if (dec == NULL) return NULL;
    dec->fd = fd;
    dec->size = size;
    return dec;
}

void cis_tiff_free(cis_tiff_decoder *dec) {
    if (dec == NULL) return;
    if (dec->tiff != NULL) TIFFClose(dec->tiff);
    free(dec);
}

const char *cis_tiff_error(const cis_tiff_decoder *dec) { return dec != NULL ? dec->error : "out of memory"; }

int cis_tiff_read_header(cis_tiff_decoder *dec, cis_tiff_header *header) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (options == NULL) {
        snprintf(dec->error, sizeof dec->error, "out of memory");
        return 1;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(options, cis_tiff_error_handler, dec);
    TIFFOpenOptionsSetWarningHandlerExtR(options, cis_tiff_warning_handler, dec);
    // No single allocation (a strip, a tile, a tag array) past 1 GiB, whatever the header claims.
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, (tmsize_t)1 << 30);
    dec->tiff = TIFFClientOpenExt("tiff", "r", (thandle_t)dec, cis_tiff_read_proc, cis_tiff_write_proc,
                                  cis_tiff_seek_proc, cis_tiff_close_proc, cis_tiff_size_proc,
                                  cis_tiff_map_proc, cis_tiff_unmap_proc, options);
    TIFFOpenOptionsFree(options);
    if (dec->tiff == NULL) {
        if (dec->error[0] == '\0') snprintf(dec->error, sizeof dec->error, "not a readable TIFF file");
        return 1;
    }
    TIFF *tif = dec->tiff;
    memset(header, 0, sizeof *header);
    uint32_t u32 = 0;
    uint16_t u16 = 0;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &u32)) {
        snprintf(dec->error, sizeof dec->error, "the image width is missing");
        return 1;
    }
    header->width = u32;
    if (!TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &u32)) {
        snprintf(dec->error, sizeof dec->error, "the image length is missing");
        return 1;
    }
    header->height = u32;
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &u16);
    header->bits_per_sample = u16;
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &u16);
    header->samples_per_pixel = u16;
    // Pillow's default for a missing PhotometricInterpretation is 0 (min-is-white).
    int stored = cis_tiff_stored_photometric(dec);
    header->photometric = stored == -1 ? 0 : stored;
    header->libtiff_photometric = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &u16) ? u16 : -1;
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &u16);
    header->planar_config = u16;
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &u16);
    header->sample_format = u16;
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &u16);
    header->compression = u16;
    header->orientation = TIFFGetField(tif, TIFFTAG_ORIENTATION, &u16) ? u16 : 1;
    header->big_endian = TIFFIsBigEndian(tif) ? 1 : 0;
    header->tiled = TIFFIsTiled(tif) ? 1 : 0;
    if (header->tiled) {
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &header->tile_width);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &header->tile_length);
        header->tile_size = (int64_t)TIFFTileSize64(tif);
        header->tile_row_size = (int64_t)TIFFTileRowSize64(tif);
    } else {
        header->scanline_size = (int64_t)TIFFScanlineSize64(tif);
    }
    uint16_t extra_count = 0;
    uint16_t *extra = NULL;
    if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra != NULL) {
        header->extra_count = extra_count;
        for (int i = 0; i < extra_count && i < 8; i++) header->extra[i] = extra[i];
    }
    uint16_t *red = NULL, *green = NULL, *blue = NULL;
    header->has_colormap = TIFFGetField(tif, TIFFTAG_COLORMAP, &red, &green, &blue) ? 1 : 0;
    if (dec->error[0] != '\0') return 1;
    return 0;
}

int cis_tiff_colormap(cis_tiff_decoder *dec, uint16_t *red, uint16_t *green, uint16_t *blue, size_t entries) {
    uint16_t *r = NULL, *g = NULL, *b = NULL;
    if (dec->tiff == NULL || !TIFFGetField(dec->tiff, TIFFTAG_COLORMAP, &r, &g, &b)) {
        snprintf(dec->error, sizeof dec->error, "the palette (ColorMap) is missing");
        return 1;
    }
    // libtiff checks that the tag holds 3 << BitsPerSample values.
    memcpy(red, r, entries * sizeof *red);
    memcpy(green, g, entries * sizeof *green);
    memcpy(blue, b, entries * sizeof *blue);
    return 0;
}

int cis_tiff_read_scanline(cis_tiff_decoder *dec, uint8_t *buffer, uint32_t row, int sample) {
    if (dec->tiff == NULL) return 1;
    if (TIFFReadScanline(dec->tiff, buffer, row, (uint16_t)sample) < 0) {
        if (dec->error[0] == '\0') snprintf(dec->error, sizeof dec->error, "cannot decode row %u", row);
        return 1;
    }
    return 0;
}

int cis_tiff_read_tile(cis_tiff_decoder *dec, uint8_t *buffer, uint32_t x, uint32_t y, int sample) {
    if (dec->tiff == NULL) return 1;
    if (TIFFReadTile(dec->tiff, buffer, x, y, 0, (uint16_t)sample) < 0) {
        if (dec->error[0] == '\0') snprintf(dec->error, sizeof dec->error, "cannot decode the tile at %u,%u", x, y);
        return 1;
    }
    return 0;
}
