#include "CImageShim.h"

#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

int cis_webp_read_header(const uint8_t *data, size_t size, cis_webp_header *header) {
    WebPBitstreamFeatures features;
    VP8StatusCode status = WebPGetFeatures(data, size, &features);
    if (status != VP8_STATUS_OK) return (int)status;
    memset(header, 0, sizeof *header);
    header->width = features.width;
    header->height = features.height;
    header->has_alpha = features.has_alpha;
    header->has_animation = features.has_animation;
    header->lossless = features.format == 2 ? 1 : features.format == 1 ? 0 : -1;
    return 0;
}

// The first frame through WebPAnimDecoder in non-premultiplied RGBA, as Pillow decodes.
static int cis_webp_first_frame(const uint8_t *data, size_t size, uint8_t *buffer, size_t stride, int width, int height) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) return 1;
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData webp = {data, size};
    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&webp, &options);
    if (decoder == NULL) return 1;
    WebPAnimInfo info;
    uint8_t *canvas = NULL;
    int timestamp = 0;
    int ok = WebPAnimDecoderGetInfo(decoder, &info) && (int)info.canvas_width == width && (int)info.canvas_height == height &&
             WebPAnimDecoderGetNext(decoder, &canvas, &timestamp) && canvas != NULL;
    if (ok) {
        for (int y = 0; y < height; y++) {
            const uint8_t *src = canvas + (size_t)y * (size_t)width * 4;
            uint8_t *dst = buffer + (size_t)y * stride;
            for (int x = 0; x < width; x++) {
                dst[3 * x] = src[4 * x];
                dst[3 * x + 1] = src[4 * x + 1];
                dst[3 * x + 2] = src[4 * x + 2];
            }
        }
    }
    WebPAnimDecoderDelete(decoder);
    return ok ? 0 : 1;
}

int cis_webp_decode_rgb(const uint8_t *data, size_t size, uint8_t *buffer, size_t stride, int width, int height) {
    cis_webp_header header;
    if (cis_webp_read_header(data, size, &header) != 0) return 1;
    if (header.width != width || header.height != height) return 1;
    if (header.has_animation) return cis_webp_first_frame(data, size, buffer, stride, width, height);
    // A still image straight into RGB: the colour samples are those of the non-premultiplied
    // RGBA that Pillow's animation decoder produces for a single frame (no blending happens on
    // a key frame), without a 4-byte-per-pixel canvas.
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return 1;
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = buffer;
    config.output.u.RGBA.stride = (int)stride;
    config.output.u.RGBA.size = stride * (size_t)height;
    VP8StatusCode status = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    return status == VP8_STATUS_OK ? 0 : (int)status;
}
